/**
 * The demo run: a busybox httpd service on the local Docker engine behind HAProxy, a load that
 * ramps up and down, and the real engine (evaluate → decide → Docker target → HAProxy runtime API →
 * audit in an in-process dynalite) scaling it every few seconds.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { hostname } from 'node:os';
import type { AuditRecord } from '../audit/record.ts';
import { evaluate } from '../evaluate/evaluate.ts';
import type { StoredPolicy } from '../evaluate/types.ts';
import { startDynalite } from '../local/dynalite.ts';
import { defaultRegistry } from '../plugins/registry.ts';
import { Policy, targetKey } from '../policy/schema.ts';
import type { StoredAuditRecord } from '../state/audit.ts';
import { documentClient, localClient, storesFor } from '../state/client.ts';
import { createTables } from '../state/create.ts';
import { localTableNames } from '../state/tables.ts';
import { rampProfile, startLoad } from './load.ts';
import { demoModel, scaleDownWindow } from './model.ts';
import { dockerOf, endpointName, registerService, removeServiceContainers, removeServiceServers, runtimeOf, servicePort, startTemplate, type DemoSettings } from './services.ts';
import { describeAction, statusLine, summarize, type DemoSummary, type StatusFields } from './summary.ts';

export function demoPolicy(service: string, backend: string, durationSeconds: number): Policy {
  return Policy.parse({
    id: 'demo',
    description: 'autoscaler demo: busybox httpd behind HAProxy',
    target: { type: 'docker', endpoint: endpointName, service, parallelism: 6, stopGraceSeconds: 2, startTimeoutSeconds: 30 },
    capacity: demoModel.capacity,
    metrics: [
      { id: 'rate', source: 'haproxy', endpoint: endpointName, backend, field: 'rate' },
      { id: 'scur', source: 'haproxy', endpoint: endpointName, backend, field: 'scur' },
    ],
    rule: { type: 'target', metric: 'rate', perReplica: demoModel.perReplica },
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 4, periodSeconds: 10 }] },
      scaleDown: { stabilizationWindowSeconds: scaleDownWindow(durationSeconds), policies: [{ type: 'Percent', value: 100, periodSeconds: 10 }] },
      tolerance: demoModel.tolerance,
    },
    loadBalancer: { type: 'haproxy', endpoint: endpointName, backend, port: servicePort, drainTimeoutSeconds: 5 },
  });
}

export interface DemoOptions {
  readonly durationSeconds: number;
  /** Aborted on Ctrl-C: the run stops early and still cleans up. */
  readonly signal: AbortSignal;
  /** Called every second with the current status. */
  readonly onStatus: (fields: StatusFields, line: string, tick: boolean) => void;
  /** Progress and warnings. */
  readonly log: (line: string) => void;
}

export interface DemoResult {
  readonly summary: DemoSummary;
  /** Every audit record of the run, oldest first, as read back from the audit table. */
  readonly records: readonly StoredAuditRecord[];
  readonly failures: Readonly<Record<string, number>>;
  readonly interrupted: boolean;
  readonly cleanup: { readonly containers: readonly string[]; readonly servers: readonly string[]; readonly errors: readonly string[] };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** GET / through the frontend until it answers 200 (the template is registered and up), bounded. */
async function waitServing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const status = await new Promise<number | string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => resolve(error.message));
      req.end();
    });
    if (status === 200) return;
    last = typeof status === 'number' ? `HTTP ${status}` : status;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the service did not answer through HAProxy (127.0.0.1:${port}) within ${timeoutMs} ms: ${last}`);
}

export async function runDemo(settings: DemoSettings, options: DemoOptions): Promise<DemoResult> {
  const service = `demo-${randomBytes(3).toString('hex')}`;
  const policy = demoPolicy(service, settings.backend, options.durationSeconds);
  const stored: StoredPolicy = { policy, version: 1 };
  const key = targetKey(policy.target);
  const host = await dockerOf(settings);
  const runtime = runtimeOf(settings);
  const dynamo = await startDynalite();
  const client = localClient(dynamo.endpoint);
  const cleanup = { containers: [] as string[], servers: [] as string[], errors: [] as string[] };
  let interrupted = false;
  try {
    await createTables(client, localTableNames);
    const stores = storesFor(documentClient(client), localTableNames);
    const evaluationOptions = {
      registry: defaultRegistry,
      endpoints: settings.endpoints,
      ceiling: demoModel.capacity.max,
      owner: `demo@${hostname()}:${process.pid}`,
      targetTimeoutMs: 30_000,
      log: options.log,
    };
    let tickCount = 0;
    const tick = async () => {
      const { records } = await evaluate([stored], { type: 'schedule', id: `${service}-tick-${++tickCount}` }, stores, evaluationOptions);
      return records;
    };

    options.log(`starting service "${service}" (image ${settings.image}, network ${settings.network}) behind HAProxy backend "${settings.backend}"`);
    await startTemplate(host, settings, service, demoModel.requestCostSeconds);
    // Register the template with HAProxy: evaluate's own reconcile runs without the policy's load
    // balancer, so the demo does this once itself, with the same plug-ins.
    await registerService(policy, settings);
    const first = await tick();
    const failedFirst = first.find((r) => r.status === 'Failed');
    if (failedFirst) throw new Error(`the first evaluation failed: ${failedFirst.error ?? 'no error text'}`);
    await waitServing(settings.frontendPort, 15_000);

    // The run: load follows the profile; the engine evaluates every interval.
    const startedAt = Date.now();
    const seconds = () => (Date.now() - startedAt) / 1000;
    const load = startLoad({
      port: settings.frontendPort,
      path: '/cgi-bin/work',
      profile: rampProfile(options.durationSeconds, demoModel.peak),
      maxInFlight: demoModel.maxInFlight,
      timeoutMs: demoModel.requestTimeoutMs,
    });
    let replicas = first[0]?.currentReplicas ?? 1;
    let sessions: number | null = null;
    let rate: number | null = null;
    let lastAction = 'none yet';
    const status = (isTick: boolean) => {
      const fields: StatusFields = { seconds: seconds(), load: load.recentRate(1), replicas, sessions, rate, failed: load.stats().failed, lastAction };
      options.onStatus(fields, statusLine(fields), isTick);
    };
    const everySecond = setInterval(() => status(false), 1_000);
    try {
      while (!options.signal.aborted && seconds() < options.durationSeconds) {
        const tickStarted = Date.now();
        for (const record of await tick()) {
          if (record.trigger.type === 'availability') continue;
          const input = (id: string) => record.inputs.find((i) => i.metric === id)?.value ?? null;
          rate = input('rate');
          sessions = input('scur');
          const after = record.details?.replicasAfter;
          replicas = typeof after === 'number' ? after : (record.currentReplicas ?? replicas);
          lastAction = describeAction(record, (Date.parse(record.startedAt) - startedAt) / 1000) ?? lastAction;
          if (record.status === 'Failed') options.log(`evaluation failed: ${record.error ?? 'no error text'}`);
        }
        status(true);
        const remaining = options.durationSeconds * 1000 - (Date.now() - startedAt);
        await sleep(Math.min(remaining, Math.max(0, demoModel.intervalSeconds * 1000 - (Date.now() - tickStarted))), options.signal);
      }
    } finally {
      clearInterval(everySecond);
      await load.stop();
    }
    interrupted = options.signal.aborted;

    const records = (await stores.audit.list({ target: key, order: 'oldest' })).filter((r) => Date.parse(r.startedAt) >= startedAt - 60_000);
    const stats = load.stats();
    const timeline = replicaTimeline(records, startedAt, first[0]?.currentReplicas ?? 1);
    return {
      // Actions counted over the records the audit table shows (this service's, from its first
      // evaluation on), so the summary and the table agree even when that first evaluation acted.
      summary: summarize(records, timeline, stats.sentPerSecond, stats.failed, demoModel.perReplica, demoModel.tolerance),
      records,
      failures: stats.failures,
      interrupted,
      cleanup,
    };
  } finally {
    // Every server and container of this run goes, whatever happened above.
    try {
      cleanup.servers.push(...(await removeServiceServers(runtime, settings.backend, service)));
    } catch (error) {
      cleanup.errors.push(`HAProxy: ${(error as Error).message}`);
    }
    try {
      cleanup.containers.push(...(await removeServiceContainers(host, service)));
    } catch (error) {
      cleanup.errors.push(`Docker: ${(error as Error).message} (remove containers labelled autoscaler.service=${service} by hand)`);
    }
    client.destroy();
    await dynamo.close();
  }
}

/** Replica counts over the run from the audit records: what each evaluation found, and what each action left. */
export function replicaTimeline(records: readonly AuditRecord[], startedAt: number, initial: number): Array<[number, number]> {
  const points: Array<[number, number]> = [[0, initial]];
  for (const r of records) {
    if (r.currentReplicas !== null && r.trigger.type !== 'availability') points.push([(Date.parse(r.startedAt) - startedAt) / 1000, r.currentReplicas]);
    const after = r.details?.replicasAfter;
    if (typeof after === 'number') points.push([(Date.parse(r.endedAt) - startedAt) / 1000, after]);
  }
  return points.sort((a, b) => a[0] - b[0]).map(([t, n]) => [Math.max(0, t), n]);
}

