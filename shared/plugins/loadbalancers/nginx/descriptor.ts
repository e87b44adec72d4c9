/** The `nginx` load balancer: an upstream file in the nginx container, reloaded gracefully. */
import * as z from 'zod/mini';
import { name } from '../../../policy/fields.ts';
import type { LoadBalancerDescriptor } from '../../descriptor.ts';

export const NginxLoadBalancer = z.strictObject({
  type: z.literal('nginx'),
  /** Name of the nginx container on the same Docker endpoint. */
  container: name,
  upstream: z.string().check(z.regex(/^[A-Za-z0-9_]+$/, 'an nginx upstream name')),
  file: z.string().check(z.regex(/^\/[^\0]*\.conf$/, 'an absolute path ending in .conf')),
  port: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
});

export const nginxLoadBalancerDescriptor = {
  type: 'nginx',
  schema: NginxLoadBalancer,
  needs: { containers: true },
  load: async () => (await import('./loadbalancer.ts')).nginxLoadBalancer,
} as const satisfies LoadBalancerDescriptor;
