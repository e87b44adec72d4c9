/** The `traefik` load balancer: Traefik's Docker provider follows the containers; the plug-in verifies their labels. */
import * as z from 'zod/mini';
import type { LoadBalancerDescriptor } from '../../descriptor.ts';

export const TraefikLoadBalancer = z.strictObject({ type: z.literal('traefik') });

export const traefikLoadBalancerDescriptor = {
  type: 'traefik',
  schema: TraefikLoadBalancer,
  needs: { containers: true },
  load: async () => (await import('./loadbalancer.ts')).traefikLoadBalancer,
} as const satisfies LoadBalancerDescriptor;
