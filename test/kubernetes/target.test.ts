import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Endpoints } from '../../shared/config/endpoints.ts';
import type { PluginContext, ScaleRequest } from '../../shared/plugins/types.ts';
import { Policy, type KubernetesTarget } from '../../shared/policy/schema.ts';
import { clearClientCache } from '../../shared/targets/kubernetes/client.ts';
import { kubernetesTarget } from '../../shared/targets/kubernetes/target.ts';
import { startFakeKubernetes, type FakeKubernetes } from './fake-api.ts';

let fake: FakeKubernetes;
let ctx: PluginContext;

function request(target: Partial<KubernetesTarget> = {}): ScaleRequest<KubernetesTarget> {
  const policy = Policy.parse({
    id: 'workers',
    target: { type: 'kubernetes', cluster: 'local', namespace: 'workers', kind: 'Deployment', name: 'sidekiq', ...target },
    capacity: { min: 1, max: 10 },
    metrics: [{ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'Depth' }],
    rule: { type: 'target', metric: 'queue', perReplica: 100 },
  });
  return { policy: policy as ScaleRequest<KubernetesTarget>['policy'], target: policy.target as KubernetesTarget };
}

beforeAll(async () => {
  fake = await startFakeKubernetes();
  ctx = { endpoints: Endpoints.parse({ kubernetes: { local: { kubeconfig: { path: fake.kubeconfig('fake'), context: 'fake' } } } }), signal: new AbortController().signal };
});
afterAll(async () => fake.close());
beforeEach(() => {
  clearClientCache();
  fake.objects.clear();
  fake.forbiddenNamespaces.clear();
  fake.silentNamespaces.clear();
  fake.requests.length = 0;
  fake.concurrentWrites = 0;
});

describe('Kubernetes target (local fake Kubernetes API server)', () => {
  it('reads replicas from the Deployment scale subresource', async () => {
    // Prepare
    fake.objects.set('workers/deployments/sidekiq', { replicas: 3, resourceVersion: 41 });
    // Act
    const state = await kubernetesTarget.describe(request(), ctx);
    // Assess
    expect(state).toEqual({ replicas: 3, details: { resourceVersion: '41' } });
    expect(fake.requests).toEqual(['GET /apis/apps/v1/namespaces/workers/deployments/sidekiq/scale']);
  });

  it('scales a StatefulSet with a PUT that carries the resourceVersion', async () => {
    // Prepare
    fake.objects.set('workers/statefulsets/db', { replicas: 1, resourceVersion: 7 });
    // Act
    const result = await kubernetesTarget.scale(request({ kind: 'StatefulSet', name: 'db' }), 4, ctx);
    // Assess
    expect(result.replicas).toBe(4);
    expect(result.details).toMatchObject({ from: 1, to: 4, conflictsRetried: 0, resourceVersion: '8' });
    expect(fake.objects.get('workers/statefulsets/db')!.replicas).toBe(4);
    expect(fake.requests).toEqual(['GET /apis/apps/v1/namespaces/workers/statefulsets/db/scale', 'PUT /apis/apps/v1/namespaces/workers/statefulsets/db/scale']);
  });

  it('retries after 409 Conflict with a fresh read', async () => {
    // Prepare
    fake.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    fake.concurrentWrites = 2;
    // Act
    const result = await kubernetesTarget.scale(request(), 5, ctx);
    // Assess
    expect(result.details).toMatchObject({ to: 5, conflictsRetried: 2 });
    expect(fake.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(3);
    expect(fake.objects.get('workers/deployments/sidekiq')!.replicas).toBe(5);
  });

  it('gives up after a bounded number of conflicts', async () => {
    // Prepare
    fake.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    fake.concurrentWrites = 100;
    // Act
    const attempt = kubernetesTarget.scale(request(), 5, ctx);
    // Assess
    await expect(attempt).rejects.toThrow(/conflict: Deployment workers\/sidekiq kept changing; gave up after 6 attempts/);
    expect(fake.objects.get('workers/deployments/sidekiq')!.replicas).toBe(2);
  });

  it('names the RBAC rule it needs on 403 Forbidden', async () => {
    // Prepare
    fake.objects.set('payments/deployments/api', { replicas: 2, resourceVersion: 1 });
    fake.forbiddenNamespaces.add('payments');
    // Act
    const attempt = kubernetesTarget.describe(request({ namespace: 'payments', name: 'api' }), ctx);
    // Assess
    await expect(attempt).rejects.toThrow(/needs verb get on deployments\/scale in namespace payments \(apps\)/);
  });

  it('names the missing object on 404 Not Found', async () => {
    // Prepare: nothing exists
    // Act
    const attempt = kubernetesTarget.scale(request({ name: 'ghost' }), 2, ctx);
    // Assess
    await expect(attempt).rejects.toThrow(/not found: Deployment workers\/ghost on cluster local \(deployments.apps "ghost" not found\)/);
  });

  it('rejects an unknown kubeconfig context, listing the known ones', async () => {
    // Prepare
    const bad: PluginContext = { ...ctx, endpoints: Endpoints.parse({ kubernetes: { local: { kubeconfig: { path: fake.kubeconfig('fake'), context: 'prod' } } } }) };
    // Act
    const attempt = kubernetesTarget.describe(request(), bad);
    // Assess
    await expect(attempt).rejects.toThrow(/context "prod" is not in the kubeconfig \(have: fake\)/);
  });
});

describe('defect 6: Kubernetes scale calls obey the target\'s signal (local fake Kubernetes API server)', () => {
  it('a scale read that the API server never answers is cancelled when the signal fires', async () => {
    // Prepare
    fake.objects.set('hung/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    fake.silentNamespaces.add('hung');
    const controller = new AbortController();
    // Act
    const reading = kubernetesTarget.describe(request({ namespace: 'hung' }), { ...ctx, signal: controller.signal });
    const outcome = reading.then(() => 'answered', (error: Error) => error.message);
    await waitFor(() => fake.requests.some((r) => r.startsWith('GET /apis/apps/v1/namespaces/hung/')));
    controller.abort(new Error('deadline'));
    // Assess
    expect(await outcome).toMatch(/cancelled/);
  });

  it('a write is not sent once the signal has fired (the lease may be someone else\'s by then)', async () => {
    // Prepare
    fake.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    const controller = new AbortController();
    controller.abort(new Error('lost the lease'));
    // Act
    const outcome = await kubernetesTarget.scale(request(), 5, { ...ctx, signal: controller.signal }).then(() => 'written', (error: Error) => error.message);
    // Assess
    expect(outcome).toMatch(/not sent|cancelled/);
    expect(fake.requests.filter((r) => r.startsWith('PUT'))).toEqual([]);
    expect(fake.objects.get('workers/deployments/sidekiq')?.replicas).toBe(2);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never held');
}
