/**
 * Kubernetes / EKS target: reads and sets replicas through the apps/v1 scale subresource of a
 * Deployment or StatefulSet. The client is imported only when a Kubernetes target is evaluated.
 */
import { endpointNamed } from '../../../config/endpoints.ts';
import type { ScaleTarget } from '../../types.ts';
import type { KubernetesTarget } from '../../../policy/schema.ts';

let client: Promise<typeof import('./client.ts')> | undefined;
const loadClient = () => (client ??= import('./client.ts'));

export const kubernetesTarget: ScaleTarget<KubernetesTarget> = {
  type: 'kubernetes',
  async describe({ target }, ctx) {
    const endpoint = endpointNamed(ctx.endpoints, 'kubernetes', target.cluster);
    const scale = await (await loadClient()).readScale(target, endpoint, ctx.signal);
    return { replicas: scale.replicas, details: { resourceVersion: scale.resourceVersion } };
  },
  async scale({ target }, desired, ctx) {
    const endpoint = endpointNamed(ctx.endpoints, 'kubernetes', target.cluster);
    const result = await (await loadClient()).writeScale(target, endpoint, desired, ctx.signal);
    return { replicas: result.to, details: { from: result.from, to: result.to, resourceVersion: result.resourceVersion } };
  },
};
