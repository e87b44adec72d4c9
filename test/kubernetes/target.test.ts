import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Endpoints } from '../../shared/config/endpoints.ts';
import type { PluginContext, ScaleRequest } from '../../shared/plugins/types.ts';
import { Policy, type KubernetesTarget } from '../../shared/policy/schema.ts';
import { clearClientCache, ScaleConflictError } from '../../shared/plugins/targets/kubernetes/client.ts';
import { kubernetesTarget } from '../../shared/plugins/targets/kubernetes/target.ts';
import { startFakeKubernetes, type FakeKubernetes } from './fake-api.ts';

let fake: FakeKubernetes;
const libraryLoaded = () => (globalThis as Record<symbol, unknown>)[Symbol.for('autoscaler.kubernetesLibraryLoaded')] === true;
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
  fake.concurrentReplicas = undefined;
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
    expect(result.details).toEqual({ from: 1, to: 4, resourceVersion: '8' });
    expect(fake.objects.get('workers/statefulsets/db')!.replicas).toBe(4);
    expect(fake.requests).toEqual(['GET /apis/apps/v1/namespaces/workers/statefulsets/db/scale', 'PUT /apis/apps/v1/namespaces/workers/statefulsets/db/scale']);
  });

  it('regression: on 409 Conflict it does not write its count over the concurrent change; a ScaleConflictError goes to the audit', async () => {
    // Prepare: between our read (2) and our write, someone scales to 8 (the API's optimistic
    // concurrency: a PUT whose metadata.resourceVersion is stale gets 409 Conflict, Kubernetes API concepts)
    fake.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    fake.concurrentWrites = 1;
    fake.concurrentReplicas = 8;
    // Act
    const attempt = kubernetesTarget.scale(request(), 5, ctx);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ScaleConflictError);
    await expect(attempt).rejects.toMatchObject({
      message: 'conflict: Deployment workers/sidekiq changed after it was read with 2 replicas (resourceVersion 1); not overwritten with 5, the next evaluation decides from the new count',
      details: { from: 2, attempted: 5, readResourceVersion: '1' },
    });
    expect(fake.objects.get('workers/deployments/sidekiq')!.replicas).toBe(8);
    expect(fake.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(1);
  });

  it('examples/eks/rbac.yaml grants exactly the verbs the target uses (Kubernetes maps GET to get, PUT to update, PATCH to patch)', async () => {
    // Prepare: the request-verb mapping of the Kubernetes authorization docs ("Determine the request verb")
    const verbOf: Record<string, string> = { GET: 'get', PUT: 'update', PATCH: 'patch', POST: 'create', DELETE: 'delete' };
    fake.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    fake.objects.set('workers/statefulsets/db', { replicas: 1, resourceVersion: 1 });
    const documents = parseAllDocuments(readFileSync(new URL('../../examples/eks/rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: Array<{ verbs: string[]; resources: string[] }> });
    // Act: everything the target does
    await kubernetesTarget.describe(request(), ctx);
    await kubernetesTarget.scale(request(), 3, ctx);
    await kubernetesTarget.scale(request({ kind: 'StatefulSet', name: 'db' }), 2, ctx);
    // Assess
    const used = [...new Set(fake.requests.map((r) => verbOf[r.split(' ')[0]!]!))].sort();
    const roles = documents.filter((d) => d.kind === 'Role');
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      expect(role.rules!.flatMap((rule) => rule.verbs).sort()).toEqual(used);
      expect(role.rules!.flatMap((rule) => rule.resources).sort()).toEqual(['deployments/scale', 'statefulsets/scale']);
    }
    expect(used).toEqual(['get', 'update']);
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

describe('kubeconfig credentials (local fake Kubernetes API server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const contextFor = (file: string): PluginContext => ({ ...ctx, endpoints: Endpoints.parse({ kubernetes: { local: { kubeconfig: { path: file, context: 'c' } } } }) });
  const kubeconfig = (name: string, cluster: string, user: string) => {
    const file = join(dir, name);
    writeFileSync(file, ['apiVersion: v1', 'kind: Config', 'clusters:', `- name: k`, `  cluster: ${cluster}`, 'users:', '- name: u', `  user: ${user}`, 'contexts:', '- name: c', '  context: { cluster: k, user: u }', ''].join('\n'));
    return file;
  };

  it('reads a token file and a CA file named relative to the kubeconfig, without @kubernetes/client-node', async () => {
    // Prepare
    fake.objects.set('workers/deployments/sidekiq', { replicas: 4, resourceVersion: 2 });
    writeFileSync(join(dir, 'ca.pem'), Buffer.from(fake.caData, 'base64'));
    writeFileSync(join(dir, 'token'), `${fake.token}\n`);
    const file = kubeconfig('files.yaml', `{ server: "${fake.url}", certificate-authority: ca.pem }`, '{ tokenFile: token }');
    // Act
    const state = await kubernetesTarget.describe(request(), contextFor(file));
    // Assess
    expect(state.replicas).toBe(4);
    expect(libraryLoaded()).toBe(false);
  });

  it('an exec credential plug-in (as `aws eks get-token` is used) goes through @kubernetes/client-node, which runs it', async () => {
    // Prepare: the plug-in prints an ExecCredential (client.authentication.k8s.io/v1beta1) with the token.
    fake.objects.set('workers/deployments/sidekiq', { replicas: 5, resourceVersion: 2 });
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: fake.token } });
    const file = kubeconfig('exec.yaml', `{ server: "${fake.url}", certificate-authority-data: "${fake.caData}" }`, `{ exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: sh, args: ["-c", ${JSON.stringify(`echo '${credential}'`)}] } }`);
    // Act
    const state = await kubernetesTarget.describe(request(), contextFor(file));
    // Assess
    expect(state.replicas).toBe(5);
    expect(libraryLoaded()).toBe(true);
  });

  it('refuses a server whose certificate the kubeconfig\'s CA did not sign', async () => {
    // Prepare: no CA given, so the fake's self-signed certificate is not trusted.
    fake.objects.set('workers/deployments/sidekiq', { replicas: 1, resourceVersion: 1 });
    const file = kubeconfig('no-ca.yaml', `{ server: "${fake.url}" }`, `{ token: ${fake.token} }`);
    // Act
    const outcome = await kubernetesTarget.describe(request(), contextFor(file)).then(() => 'answered', (error: Error) => error.message);
    // Assess
    expect(outcome).toMatch(/self-signed certificate|unable to verify/i);
    expect(fake.requests).toEqual([]);
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
