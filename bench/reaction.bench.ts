/**
 * Reaction time on the real services (Docker Engine + HAProxy runtime API):
 * (a) from a trigger to a new container serving through HAProxy, against a plain `docker create` +
 *     `start` of the same container until it answers directly (goal: at most 1.3x that);
 * (b) scaling out by 10 at once, the Docker target's parallelism 10 against 1 (sequential).
 * Skips with a note when the services are not there (run `bash scripts/test-services.sh`).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { evaluate } from '../shared/evaluate/evaluate.ts';
import { startDynalite } from '../shared/local/dynalite.ts';
import { showServersState } from '../shared/haproxy/runtime.ts';
import { targetServerPrefix } from '../shared/plugins/loadbalancers/haproxy/loadbalancer.ts';
import { defaultRegistry, load, withOverrides } from '../shared/plugins/registry.ts';
import { targetAccess, type LoadBalancerFactory, type MetricSource, type PluginContext, type ScaleRequest, type ScaleTarget } from '../shared/plugins/types.ts';
import { Policy, type DockerTarget } from '../shared/policy/schema.ts';
import { documentClient, localClient, storesFor } from '../shared/state/client.ts';
import { createTables } from '../shared/state/create.ts';
import { localTableNames } from '../shared/state/tables.ts';
import {
  checkServices,
  dockerOf,
  endpointName,
  httpdCommand,
  loadServicesEnvFile,
  registerService,
  removeServiceContainers,
  removeServiceServers,
  runtimeOf,
  servicePort,
  settingsFromEnvironment,
  startTemplate,
  type DemoSettings,
} from '../shared/demo/services.ts';
import { printTable } from './table.ts';

const repetitions = 5;
const fanOutRepetitions = 3;
const fanOut = 10;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** GET / once; resolves with the body on HTTP 200, else undefined. */
function get(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Polls until `accept(body)`; returns when it did (performance.now()). */
async function until(host: string, port: number, accept: (body: string) => boolean, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const body = await get(host, port);
    if (body !== undefined && accept(body)) return performance.now();
    if (performance.now() > deadline) throw new Error(`no answer from ${host}:${port} as expected within ${timeoutMs} ms (last: ${body ?? 'none'})`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function benchPolicy(service: string, settings: DemoSettings, parallelism: number): Policy {
  return Policy.parse({
    id: 'reaction',
    target: { type: 'docker', endpoint: endpointName, service, parallelism, stopGraceSeconds: 2 },
    capacity: { min: 1, max: fanOut + 1 },
    // A synthetic metric (the source is replaced below): it always asks for 2 replicas.
    metrics: [{ id: 'demand', source: 'redis', endpoint: 'bench', list: 'bench' }],
    rule: { type: 'target', metric: 'demand', perReplica: 1 },
    loadBalancer: { type: 'haproxy', endpoint: endpointName, backend: settings.backend, port: servicePort, drainTimeoutSeconds: 2 },
  });
}

const pushTwo: MetricSource = {
  source: 'redis',
  async fetch(requests) {
    return new Map(requests.map((r) => [r.key, { value: 2, timestamp: Date.now() }]));
  },
};

export default async function reactionBench(): Promise<void> {
  loadServicesEnvFile(new URL('../.test-services.env', import.meta.url));
  let settings: DemoSettings;
  try {
    settings = settingsFromEnvironment();
  } catch (error) {
    console.log(`skipped: ${(error as Error).message.split('\n').join(' ')}`);
    return;
  }
  const problems = await checkServices(settings);
  if (problems.length > 0) {
    console.log(`skipped: ${problems.join(' ')}`);
    return;
  }

  const host = await dockerOf(settings);
  const runtime = runtimeOf(settings);
  const service = `bench-${randomBytes(3).toString('hex')}`;
  const plainLabel = `${service}-plain`;
  const dynamo = await startDynalite();
  const client = localClient(dynamo.endpoint);
  try {
    await createTables(client, localTableNames);
    const stores = storesFor(documentClient(client), localTableNames);
    const ctx: PluginContext = { endpoints: settings.endpoints, signal: new AbortController().signal };
    const target = await load<ScaleTarget<DockerTarget>>('targets', 'docker', defaultRegistry);
    const factory = await load<LoadBalancerFactory>('loadBalancers', 'haproxy', defaultRegistry);
    const scaleRequest = (parallelism: number): ScaleRequest<DockerTarget> => {
      const policy = benchPolicy(service, settings, parallelism) as Policy & { target: DockerTarget };
      return { policy, target: policy.target, loadBalancer: factory.create(policy.loadBalancer!, policy.target, ctx, targetAccess(target, policy.target, ctx)) };
    };

    const template = await startTemplate(host, settings, service, 0);
    const templateHost = template.Config.Hostname;
    await registerService(benchPolicy(service, settings, fanOut), settings);
    await until('127.0.0.1', settings.frontendPort, (body) => body === templateHost);
    const throughNewServer = () => until('127.0.0.1', settings.frontendPort, (body) => body !== templateHost);

    // (a) one new container: interleaved, so that drift on the machine hits every path alike.
    const plain: number[] = [];
    const scaled: number[] = [];
    const evaluated: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      {
        const started = performance.now();
        const container = await host.docker.createContainer({
          Image: settings.image,
          Cmd: httpdCommand(0),
          Labels: { 'autoscaler.bench': plainLabel },
          ExposedPorts: { [`${servicePort}/tcp`]: {} },
          HostConfig: { NetworkMode: settings.network },
        });
        await container.start();
        const info = await container.inspect();
        const address = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress;
        if (!address) throw new Error(`plain container ${info.Name} has no IP address on ${settings.network}`);
        plain.push((await until(address, servicePort, () => true)) - started);
        await container.remove({ force: true });
      }
      {
        const started = performance.now();
        await target.scale(scaleRequest(fanOut), 2, ctx);
        scaled.push((await throughNewServer()) - started);
        await target.scale(scaleRequest(fanOut), 1, ctx);
      }
      {
        // A policy id of its own per round: no behavior history from the previous round's scale-out.
        const policy = Policy.parse({ ...benchPolicy(service, settings, fanOut), id: `reaction-${i}` });
        const registry = withOverrides(defaultRegistry, { metricSources: { redis: async () => pushTwo } });
        const started = performance.now();
        const { records } = await evaluate([{ policy, version: 1 }], { type: 'manual', id: `${service}-${i}` }, stores, { registry, endpoints: settings.endpoints, ceiling: 100, owner: 'bench' });
        const acted = records.find((r) => r.action === 'scaleOut');
        if (acted?.status !== 'Successful') throw new Error(`evaluate did not scale out: ${JSON.stringify(records.map((r) => [r.status, r.notScaledReason, r.error]))}`);
        evaluated.push((await throughNewServer()) - started);
        await target.scale(scaleRequest(fanOut), 1, ctx);
      }
    }
    const base = median(plain);
    const row = (path: string, values: number[]) => ({
      path,
      'median ms': median(values),
      'min ms': Math.min(...values),
      'max ms': Math.max(...values),
      'x plain': median(values) / base,
    });
    console.log(`(a) one new container until it serves, N=${repetitions} each (goal: trigger → serving through HAProxy ≤ 1.3x plain)\n`);
    printTable([
      row('plain docker create+start, until it answers directly', plain),
      row('Docker target scale +1 (HAProxy add server), until a request through HAProxy reaches it', scaled),
      row('evaluate (decide, lease, audit in dynalite) + scale +1, until served through HAProxy', evaluated),
    ]);

    // (b) ten at once: the same target, parallelism 10 against 1.
    const times = new Map<number, number[]>([[fanOut, []], [1, []]]);
    for (let i = 0; i < fanOutRepetitions; i++) {
      for (const parallelism of [fanOut, 1]) {
        const started = performance.now();
        const result = await target.scale(scaleRequest(parallelism), fanOut + 1, ctx);
        times.get(parallelism)!.push(performance.now() - started);
        // Every clone must have reached HAProxy (servers are named <target prefix><service>-as-…).
        const clonePrefix = `${targetServerPrefix(benchPolicy(service, settings, fanOut).target)}${service}-as-`;
        const clones = (await showServersState(runtime, settings.backend)).filter((s) => s.name.startsWith(clonePrefix));
        if (result.replicas !== fanOut + 1 || clones.length !== fanOut) {
          throw new Error(`scale out by ${fanOut} left ${result.replicas} replicas and ${clones.length} clones in HAProxy`);
        }
        await target.scale(scaleRequest(fanOut), 1, ctx);
      }
    }
    const sequential = median(times.get(1)!);
    console.log(`\n(b) scale out by ${fanOut} (create, start, register each with HAProxy), N=${fanOutRepetitions} each\n`);
    printTable(
      [fanOut, 1].map((parallelism) => ({
        parallelism,
        'median ms': median(times.get(parallelism)!),
        'ms per container': median(times.get(parallelism)!) / fanOut,
        'x sequential': median(times.get(parallelism)!) / sequential,
      })),
    );
  } finally {
    await removeServiceServers(runtime, settings.backend, service).catch((error: unknown) => console.log(`cleanup (HAProxy): ${(error as Error).message}`));
    await removeServiceContainers(host, service).catch((error: unknown) => console.log(`cleanup (Docker): ${(error as Error).message}`));
    try {
      const plainLeft = await host.docker.listContainers({ all: true, filters: { label: [`autoscaler.bench=${plainLabel}`] } });
      await Promise.all(plainLeft.map((c) => host.docker.getContainer(c.Id).remove({ force: true })));
    } catch (error) {
      console.log(`cleanup (Docker, plain containers labelled autoscaler.bench=${plainLabel}): ${(error as Error).message}`);
    }
    client.destroy();
    await dynamo.close();
  }
}
