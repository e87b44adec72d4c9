/**
 * Opt-in: runs against a real cluster when KUBECONFIG is set (e.g. kind or minikube) and
 * AUTOSCALER_TEST_DEPLOYMENT names an existing Deployment as namespace/name. Not a CI service.
 */
import { describe, expect, it } from 'vitest';
import { Endpoints } from '../../shared/config/endpoints.ts';
import { Policy, type KubernetesTarget } from '../../shared/policy/schema.ts';
import { kubernetesTarget } from '../../shared/plugins/targets/kubernetes/target.ts';

const kubeconfig = process.env.KUBECONFIG;
const deployment = process.env.AUTOSCALER_TEST_DEPLOYMENT ?? 'default/autoscaler-test';
const reason = 'set KUBECONFIG (and AUTOSCALER_TEST_DEPLOYMENT=namespace/name) to run against a real cluster';

// Printed so that the "1 skipped" in the summary explains itself (the default reporter lists no skipped names).
if (!kubeconfig) console.info(`skipping "Kubernetes target on a real cluster": ${reason}`);

describe.skipIf(!kubeconfig)(`Kubernetes target on a real cluster (opt-in: ${reason})`, () => {
  it('reads the scale subresource and writes the same replica count back', async () => {
    // Prepare
    const [namespace, name] = deployment.split('/') as [string, string];
    const policy = Policy.parse({
      id: 'real',
      target: { type: 'kubernetes', cluster: 'real', namespace, kind: 'Deployment', name },
      capacity: { min: 0, max: 10 },
      metrics: [{ id: 'm', source: 'cloudwatch', namespace: 'X', name: 'Y' }],
      rule: { type: 'target', metric: 'm', perReplica: 1 },
    });
    const ctx = { endpoints: Endpoints.parse({ kubernetes: { real: { kubeconfig: { path: kubeconfig!.split(':')[0] } } } }), signal: new AbortController().signal };
    const request = { policy: policy as never, target: policy.target as KubernetesTarget };
    // Act
    const before = await kubernetesTarget.describe(request, ctx);
    const after = await kubernetesTarget.scale(request, before.replicas, ctx);
    // Assess
    expect(after.replicas).toBe(before.replicas);
  });
});

it.skipIf(Boolean(kubeconfig))(`real-cluster Kubernetes test skipped: ${reason}`, () => {
  // Prepare / Act / Assess: records the skip reason in the report; nothing to run without a cluster.
  expect(kubeconfig).toBeUndefined();
});
