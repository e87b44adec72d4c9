/**
 * `autoscaler local` ends by itself: `--once` exits after its tick with every metric source and
 * target kind, and one SIGINT stops the loop. Regression for the Redis client that kept the
 * process alive for ever after the last tick (`local --once` never exited; Ctrl-C hung).
 *
 * The CLI is spawned as a user runs it. HAProxy, Redis and Docker are the real test services;
 * CloudWatch is a local server speaking its JSON protocol (test/functions/fake-cloudwatch.ts), the
 * Kubernetes API a local HTTPS fake (test/kubernetes/fake-api.ts), and ElastiCache an endpoint that
 * refuses connections (no emulator exists: what matters here is that the process still ends).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { load, releasePlugins, type Registry } from '../../shared/plugins/registry.ts';
import type { MetricSource, ScaleTarget } from '../../shared/plugins/types.ts';
import { startFakeCloudWatch, type FakeCloudWatch } from '../functions/fake-cloudwatch.ts';
import { startFakeKubernetes, type FakeKubernetes } from '../kubernetes/fake-api.ts';
import { describeWithServices } from '../support/services.ts';

const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const run = `lx${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
/** Far more than any tick takes here, even on a loaded machine: the point is that it ends at all. */
const exitWithinMs = 60_000;

interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns the CLI; `ended` settles when the process exits, or rejects if it is still running after `exitWithinMs`. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const lineWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of lineWaiters.filter((w) => w.pattern.test(stdout))) {
      lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<Ended>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${exitWithinMs} ms; stdout: ${stdout}\nstderr: ${stderr}`));
    }, exitWithinMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const printed = (pattern: RegExp) =>
    new Promise<void>((resolve) => {
      if (pattern.test(stdout)) resolve();
      else lineWaiters.push({ pattern, resolve });
    });
  return { child, ended, printed };
}

/** A loopback port nothing listens on: connections to it are refused at once. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeWithServices('autoscaler local ends by itself (spawned CLI; real Docker, HAProxy, Redis; fake CloudWatch, Kubernetes API)', ['DOCKER_HOST', 'HAPROXY_RUNTIME', 'HAPROXY_BACKEND', 'REDIS_URL'], () => {
  let dir: string;
  let cloudWatch: FakeCloudWatch;
  let kubernetes: FakeKubernetes;
  let env: NodeJS.ProcessEnv;
  let endpointsFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-exit-'));
    cloudWatch = await startFakeCloudWatch();
    cloudWatch.values.set('QueueDepth', 7);
    kubernetes = await startFakeKubernetes();
    kubernetes.objects.set(`${run}/deployments/worker`, { replicas: 2, resourceVersion: 1 });
    const elastiCachePort = await refusedPort();
    const runtime = process.env.HAPROXY_RUNTIME!;
    const docker = process.env.DOCKER_HOST!;
    endpointsFile = join(dir, 'endpoints.yaml');
    await writeFile(
      endpointsFile,
      stringify({
        docker: { local: docker.startsWith('unix://') ? { socket: docker.slice('unix://'.length) } : { host: docker } },
        haproxy: { local: runtime.startsWith('/') ? { socket: runtime } : { address: runtime } },
        redis: { local: { url: process.env.REDIS_URL } },
        kubernetes: { fake: { kubeconfig: { path: kubernetes.kubeconfig() } } },
      }),
    );
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDLOCALEXITTEST',
      AWS_SECRET_ACCESS_KEY: 'local-exit-test',
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.url,
      AWS_ENDPOINT_URL_ELASTICACHE: `http://127.0.0.1:${elastiCachePort}`,
    };
  });
  afterAll(async () => {
    await cloudWatch?.close();
    await kubernetes?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const dockerTarget = (service: string) => ({ type: 'docker', endpoint: 'local', service: `${run}-${service}` });
  const haproxyMetric = () => ({ id: 'm', source: 'haproxy', endpoint: 'local', backend: process.env.HAPROXY_BACKEND, field: 'scur' });
  const cases: { name: string; target: () => object; metric: () => object }[] = [
    { name: 'haproxy metric, docker target', target: () => dockerTarget('haproxy'), metric: haproxyMetric },
    { name: 'redis metric, docker target', target: () => dockerTarget('redis'), metric: () => ({ id: 'm', source: 'redis', endpoint: 'local', list: `${run}:queue` }) },
    { name: 'cloudwatch metric (local server speaking its protocol), docker target', target: () => dockerTarget('cloudwatch'), metric: () => ({ id: 'm', source: 'cloudwatch', namespace: 'Test', name: 'QueueDepth' }) },
    { name: 'elasticache metric (endpoint refusing connections), docker target', target: () => dockerTarget('elasticache'), metric: () => ({ id: 'm', source: 'elasticache', cacheClusterId: 'c-001', name: 'CurrItems' }) },
    { name: 'redis metric, kubernetes target (local fake API)', target: () => ({ type: 'kubernetes', cluster: 'fake', namespace: run, kind: 'Deployment', name: 'worker' }), metric: () => ({ id: 'm', source: 'redis', endpoint: 'local', list: `${run}:queue` }) },
  ];

  for (const [index, { name, target, metric }] of cases.entries()) {
    it(`local --once exits after its tick: ${name}`, { timeout: exitWithinMs + 10_000 }, async () => {
      // Prepare: a dry-run policy (decide and audit, never act).
      const file = join(dir, `policy-${index}.yaml`);
      await writeFile(file, stringify({ id: `${run}-${index}`, dryRun: true, target: target(), capacity: { min: 0, max: 3 }, metrics: [metric()], rule: { type: 'target', metric: 'm', perReplica: 10 } }));
      // Act
      const { ended } = spawnCli(['local', '--once', '--policies', file, '--data', join(dir, `data-${index}`), '--endpoints', endpointsFile], env);
      const result = await ended;
      // Assess: it evaluated the policy, then ended on its own (not through the leak safety net).
      expect(result.stdout).toMatch(/tick 1: 1 policy;/);
      expect(result.signal).toBeNull();
      expect([0, 1]).toContain(result.code);
      expect(result.stderr).not.toMatch(/still running/);
    });
  }

  it('one SIGINT stops the loop after the current tick, and the process ends by itself', { timeout: exitWithinMs + 10_000 }, async () => {
    // Prepare
    const file = join(dir, 'policy-sigint.yaml');
    await writeFile(file, stringify({ id: `${run}-sigint`, dryRun: true, target: dockerTarget('sigint'), capacity: { min: 0, max: 3 }, metrics: [{ id: 'm', source: 'redis', endpoint: 'local', list: `${run}:queue` }], rule: { type: 'target', metric: 'm', perReplica: 10 } }));
    const { child, ended, printed } = spawnCli(['local', '--interval', '1s', '--policies', file, '--data', join(dir, 'data-sigint'), '--endpoints', endpointsFile], env);
    // Two ticks done and the Redis client reused: the state the hang was seen in.
    await Promise.race([printed(/tick 2: /), ended.then((r) => Promise.reject(new Error(`ended before its second tick (code ${r.code}): ${r.stderr}`)))]);
    // Act
    child.kill('SIGINT');
    const result = await ended;
    // Assess
    expect(result.stderr).toMatch(/stopping after the current tick/);
    expect(result.stderr).not.toMatch(/still running/);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
  });
});

describe('releasePlugins', () => {
  it('closes every plug-in the registry handed out, once, even when one of them fails to', async () => {
    // Prepare
    const released: string[] = [];
    const plugin = (name: string, fails = false): MetricSource => ({
      source: 'redis',
      fetch: async () => new Map(),
      async release() {
        released.push(name);
        if (fails) throw new Error(`${name} would not close`);
      },
    });
    const registry: Registry = {
      metricSources: { good: async () => plugin('good'), bad: async () => plugin('bad', true), unused: async () => plugin('unused') },
      targets: { plain: async (): Promise<ScaleTarget> => ({ type: 'memory', describe: async () => ({ replicas: 1 }), scale: async () => ({ replicas: 1, details: {} }) }) },
      loadBalancers: {},
    };
    await load('metricSources', 'good', registry);
    await load('metricSources', 'bad', registry);
    await load('targets', 'plain', registry);
    // Act
    const errors = await releasePlugins(registry);
    const again = await releasePlugins(registry);
    // Assess
    expect(released.sort()).toEqual(['bad', 'good']);
    expect(errors).toEqual(['bad would not close']);
    expect(again).toEqual([]);
  });
});
