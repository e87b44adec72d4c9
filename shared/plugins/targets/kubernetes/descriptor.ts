/** The `kubernetes` scale target (a Deployment or StatefulSet's scale subresource) and the `kubernetes` endpoint kind. */
import * as z from 'zod/mini';
import { name } from '../../../policy/fields.ts';
import type { EndpointKind, TargetDescriptor } from '../../descriptor.ts';

export const KubernetesEndpoint = z.union([
  z.strictObject({ eks: z.strictObject({ name: z.string().check(z.minLength(1)), region: z.optional(z.string().check(z.minLength(1))) }) }),
  z.strictObject({ kubeconfig: z.strictObject({ path: z.optional(z.string()), context: z.optional(z.string()) }) }),
]);

export const kubernetesEndpointKind = {
  kind: 'kubernetes',
  schema: KubernetesEndpoint,
  checkForLambda(endpointName, kubernetes, ctx) {
    const path = `kubernetes.${endpointName}`;
    if ('kubeconfig' in kubernetes) {
      ctx.problem(path, 'a kubeconfig does not exist in Lambda; use { eks: { name } }');
    } else {
      if (!ctx.eksClusterNames.includes(kubernetes.eks.name)) {
        ctx.problem(path, `EKS cluster "${kubernetes.eks.name}" is not among the granted clusters (${ctx.eksClusterNames.join(', ') || 'none'}); add it to "eksClusters" (in the "autoscaler" CDK context, or the Autoscaler construct's prop)`);
      }
      const region = kubernetes.eks.region;
      if (region !== undefined && 'stackRegion' in ctx && region !== ctx.stackRegion) {
        ctx.problem(
          `${path}.eks.region`,
          ctx.stackRegion === undefined
            ? `"${region}" cannot be checked against an environment-agnostic stack; give the stack env.region, or omit eks.region (the functions' own region is used)`
            : `"${region}"; allowed: the stack's region "${ctx.stackRegion}" (the access entry and eks:DescribeCluster are granted there; deploy an autoscaler in ${region} for that cluster)`,
        );
      }
    }
  },
} as const satisfies EndpointKind<'kubernetes', typeof KubernetesEndpoint>;

export const KubernetesTarget = z
  .strictObject({
    type: z.literal('kubernetes'),
    /** Name of a cluster from the endpoints configuration (an EKS cluster or a kubeconfig context). */
    cluster: name,
    namespace: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name (RFC 1123 label)'), z.maxLength(63)),
    kind: z.enum(['Deployment', 'StatefulSet']),
    name: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes object name (RFC 1123 subdomain)'), z.maxLength(253)),
  })
  .register(z.globalRegistry, { description: 'A Deployment or StatefulSet, scaled through its scale subresource.' });

export const kubernetesTargetDescriptor = {
  type: 'kubernetes',
  schema: KubernetesTarget,
  endpointKind: kubernetesEndpointKind,
  capabilities: { labelOverrides: false, members: false, containers: false },
  key: (target: z.output<typeof KubernetesTarget>) => `kubernetes/${target.cluster}/${target.namespace}/${target.kind}/${target.name}`,
  load: async () => (await import('./target.ts')).kubernetesTarget,
} as const satisfies TargetDescriptor<typeof KubernetesTarget>;
