/**
 * The handlers as deployed: bundled by esbuild with exactly the CDK's options (infra/bundling.ts),
 * imported on this Node (24, the Lambda's major version) and invoked with sample events against
 * dynalite (CloudWatch: local fake JSON endpoint; local fake Kubernetes API server).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esbuildOptionsFor, handlerEntries, lazyPackages } from '../../infra/bundling.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { lambdaContext, scheduledEvent, seed, snsAlarmEvent, startScenario, type Scenario } from './scenario.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<any>;
/**
 * The bundles are written under node_modules/.cache, which vitest leaves to Node's own import()
 * (no transform): each bundle is loaded exactly as Lambda loads it.
 */
const nativeImport = (url: string) => import(/* @vite-ignore */ url) as Promise<{ handler: Handler }>;
const markerSet = (name: string) => (globalThis as Record<symbol, unknown>)[Symbol.for(`autoscaler.${name}`)] === true;
const kubernetesLoaded = () => markerSet('kubernetesClientLoaded');
/** dockerode and ioredis, like the Kubernetes client, live outside the bundle and load on first use. */
const dockerodeLoaded = () => markerSet('dockerodeLoaded');
const ioredisLoaded = () => markerSet('ioredisLoaded');
/** The AWS clients only some policies need (ElastiCache metrics, EKS clusters, secrets) load on first use too. */
const awsClientsLoaded = () => ({
  elastiCache: markerSet('elastiCacheClientLoaded'),
  eks: markerSet('eksClientLoaded'),
  sts: markerSet('stsClientLoaded'),
  secretsManager: markerSet('secretsManagerClientLoaded'),
});
const noAwsClientLoaded = { elastiCache: false, eks: false, sts: false, secretsManager: false };

const cacheRoot = join(import.meta.dirname, '../../node_modules/.cache/autoscaler-bundles');
let dir: string;
let scenario: Scenario;
const bundles: Record<string, string> = {};
const metafiles: Record<string, Metafile> = {};

beforeAll(async () => {
  mkdirSync(cacheRoot, { recursive: true });
  dir = mkdtempSync(join(cacheRoot, 'bundles-'));
  for (const [name, entry] of Object.entries(handlerEntries)) {
    bundles[name] = join(dir, name, 'index.mjs');
    metafiles[name] = (await build({ ...esbuildOptionsFor(entry, bundles[name]!), metafile: true })).metafile;
  }
  scenario = await startScenario();
});
afterAll(async () => {
  await scenario?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('handler bundles (esbuild with the CDK options; dynalite; CloudWatch: local fake JSON endpoint; local fake Kubernetes API server)', () => {
  it('neither bundle contains the lazily loaded packages, and each reaches them by dynamic import() only', () => {
    for (const [name, metafile] of Object.entries(metafiles)) {
      // Prepare
      const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith('index.mjs'))![1];
      // Act
      const bundled = Object.keys(output.inputs).filter((file) => lazyPackages.some((p) => file.includes(`node_modules/${p}/`)) || file.includes('node_modules/ssh2/'));
      const importsOfLazy = output.imports.filter((i) => lazyPackages.some((p) => i.path === p || i.path.startsWith(`${p}/`)));
      // Assess
      expect(bundled, name).toEqual([]);
      // The alarm function never sends or receives shards: it does not reach the SQS client at all.
      const reached = lazyPackages.filter((p) => !(name === 'alarm' && p === '@aws-sdk/client-sqs'));
      expect(importsOfLazy.map((i) => i.path).sort(), name).toEqual([...reached].sort());
      expect(importsOfLazy.filter((i) => i.kind !== 'dynamic-import'), name).toEqual([]);
    }
  });

  it('the evaluate bundle imports without loading the Kubernetes client, dockerode, ioredis or the ElastiCache, EKS, STS and Secrets Manager clients, and a Docker-only evaluation keeps the Kubernetes client unloaded', async () => {
    // Prepare: one Docker policy whose endpoint is not configured (its target fails, nothing else is needed)
    const dockerOnly = Policy.parse({
      id: 'docker-only',
      target: { type: 'docker', endpoint: 'nowhere', service: 'web' },
      capacity: { min: 1, max: 3 },
      metrics: [{ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'QueueDepth' }],
      rule: { type: 'target', metric: 'queue', perReplica: 100 },
    });
    await scenario.stores.policies.put(dockerOnly, 0);
    // Act
    const { handler } = await nativeImport(pathToFileURL(bundles.evaluate!).href);
    const loadedAtImport = { kubernetes: kubernetesLoaded(), dockerode: dockerodeLoaded(), ioredis: ioredisLoaded(), aws: awsClientsLoaded() };
    const summary = await handler(scheduledEvent('bundle-tick-1'), lambdaContext('bundle-1'));
    // Assess
    expect(loadedAtImport).toEqual({ kubernetes: false, dockerode: false, ioredis: false, aws: noAwsClientLoaded });
    expect(summary).toMatchObject({ policies: 1, failures: 1 });
    const [record] = await scenario.stores.audit.list({ policyId: 'docker-only', limit: 1 });
    expect(record!.error).toMatch(/unknown docker endpoint "nowhere"/);
    expect(kubernetesLoaded()).toBe(false);
    await scenario.stores.policies.delete('docker-only', 1);
  });

  it('the evaluate bundle scales a Kubernetes workload on a schedule tick with CloudWatch metrics (loading the Kubernetes target client then, never @kubernetes/client-node for a token kubeconfig, nor dockerode or ioredis)', async () => {
    // Prepare
    await seed(scenario);
    const { handler } = await nativeImport(pathToFileURL(bundles.evaluate!).href);
    // Act
    const summary = await handler(scheduledEvent('bundle-tick-2'), lambdaContext('bundle-2'));
    // Assess
    expect(summary).toMatchObject({ actions: 1, failures: 0 });
    expect(kubernetesLoaded()).toBe(true);
    // A kubeconfig with a token: the target's own HTTPS client, not @kubernetes/client-node.
    expect(markerSet('kubernetesLibraryLoaded')).toBe(false);
    expect({ dockerode: dockerodeLoaded(), ioredis: ioredisLoaded() }).toEqual({ dockerode: false, ioredis: false });
    // A kubeconfig cluster, not EKS: neither the EKS nor the STS client is needed.
    expect(awsClientsLoaded()).toEqual(noAwsClientLoaded);
    expect(scenario.kubernetes.objects.get('workers/deployments/sidekiq')!.replicas).toBe(5);
    const [record] = await scenario.stores.audit.list({ policyId: 'queue-workers', limit: 1 });
    expect(record).toMatchObject({ status: 'Successful', action: 'scaleOut', currentReplicas: 2, desiredReplicas: 5, trigger: { type: 'schedule', id: 'bundle-tick-2' } });
  });

  it('the alarm bundle handles an SNS alarm notification', async () => {
    // Prepare
    await seed(scenario);
    const { handler } = await nativeImport(pathToFileURL(bundles.alarm!).href);
    // Act
    const result = await handler(snsAlarmEvent('bundle-msg-1', 'ALARM'), lambdaContext('bundle-3'));
    // Assess
    expect(result).toEqual([expect.objectContaining({ alarmName: 'api-high', state: 'ALARM', actions: 1 })]);
    expect(scenario.kubernetes.objects.get('web/deployments/api')!.replicas).toBe(5);
  });

  it('the alarm bundle rejects a malformed event with a clear error', async () => {
    // Prepare
    const { handler } = await nativeImport(pathToFileURL(bundles.alarm!).href);
    // Act
    const attempt = handler({ Records: [{ Sns: { MessageId: 'x', Message: 'not json' } }] }, lambdaContext('bundle-4'));
    // Assess
    await expect(attempt).rejects.toThrow(/Records\.0\.Sns\.Message: not JSON/);
  });
});
