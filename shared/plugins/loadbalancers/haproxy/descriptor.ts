/** The `haproxy` load balancer: servers in a backend, through the runtime API. */
import * as z from 'zod/mini';
import { name, nonNegativeInt } from '../../../policy/fields.ts';
import type { LoadBalancerDescriptor } from '../../descriptor.ts';
import { haproxyEndpointKind } from '../../metrics/haproxy/descriptor.ts';

export const HaproxyLoadBalancer = z.strictObject({
  type: z.literal('haproxy'),
  /** Name of an HAProxy runtime API endpoint. */
  endpoint: name,
  backend: z.string().check(z.minLength(1), z.maxLength(255)),
  /** The container port HAProxy sends traffic to. */
  port: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
  /** Longest wait for a draining server's sessions to reach 0. */
  drainTimeoutSeconds: z._default(nonNegativeInt.check(z.maximum(600)), 30),
});

export const haproxyLoadBalancerDescriptor = {
  type: 'haproxy',
  schema: HaproxyLoadBalancer,
  endpointKind: haproxyEndpointKind,
  load: async () => (await import('./loadbalancer.ts')).haproxyLoadBalancer,
} as const satisfies LoadBalancerDescriptor;
