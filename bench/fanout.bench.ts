/**
 * Fan-out: 10,000 policies over 2,000 targets (half Docker on 200 hosts, half Kubernetes), 1% of
 * Docker hosts black-holed, on a simulated clock (bench/support/virtual-clock.ts; latencies in
 * bench/support/simulated-fleet.ts). Side by side, from one run:
 *
 * - fan-out: the real dispatcher (shared/fanout/dispatcher.ts: compact index → shards →
 *   SqsShardQueue's SendMessageBatch, here onto an SQS client stand-in feeding the in-process queue
 *   with the worker's reserved concurrency), the real worker (`runShard`: stale check, BatchGet,
 *   evaluation through shared/fanout/evaluation.ts) with the worker's 30 s per-target limit;
 * - single Lambda: today's scheduled function (every full policy read, one `evaluate` over all of
 *   them with its defaults: 10 targets at a time, 60 s per target), inside a 2-minute Lambda timeout.
 *
 * Each engine runs twice: with the dead hosts and without (the same fleet otherwise), so healthy
 * targets' p99 can be compared. `--json` prints one JSON object per engine per line.
 *
 * tickSeconds: simulated time from the tick to the last audit record. healthyP99Seconds: p99 over
 * targets on healthy hosts of the time from the tick to the target's last audit record.
 * cloudwatchCallsMin: Σ over shards of ceil(CloudWatch queries / 500).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { noEndpoints } from '../shared/config/endpoints.ts';
import { evaluate } from '../shared/evaluate/evaluate.ts';
import type { EvaluationOptions } from '../shared/evaluate/types.ts';
import { defaultWorkerTargetTimeoutMs } from '../shared/fanout/config.ts';
import { defaultInProcessMaxTargets, dispatchTick } from '../shared/fanout/dispatcher.ts';
import { InProcessQueue } from '../shared/fanout/in-process-queue.ts';
import { parseShardMessage } from '../shared/fanout/message.ts';
import { defaultShardSizing, getMetricDataQueriesPerCall, minimumGetMetricDataCalls, planShards } from '../shared/fanout/shards.ts';
import { SqsShardQueue } from '../shared/fanout/sqs-queue.ts';
import { runShard } from '../shared/fanout/worker.ts';
import { buildFleet, SimulatedWorld, type Fleet, type FleetShape } from './support/simulated-fleet.ts';
import { VirtualClock } from './support/virtual-clock.ts';
import { printTable } from './table.ts';

const shape: FleetShape = { targets: 2_000, policiesPerTarget: 5, servicesPerHost: 5, deadHostShare: 0.01, scalingShare: 0.05 };
const intervalMs = 60_000;
const lambdaTimeoutMs = 120_000;
/** From SendMessageBatch to a worker running the shard (event source polling and invoke). */
const deliveryDelayMs = 150;

interface RunResult {
  readonly shards: number;
  readonly tickMs: number;
  readonly healthyP99Ms: number;
  readonly decidedTargets: number;
  readonly cloudwatchCalls: number;
  readonly cloudwatchCallsMin: number;
  readonly dynamodbReads: number;
  readonly dynamodbWrites: number;
  readonly sqsCalls: number;
  readonly realMs: number;
}

function summarize(world: SimulatedWorld, fleet: Fleet, tickAt: number, deadlineMs: number): Pick<RunResult, 'tickMs' | 'healthyP99Ms' | 'decidedTargets'> {
  const targets = new Set(fleet.index.map((e) => e.target));
  const healthy: number[] = [];
  let last = 0;
  let decided = 0;
  for (const target of targets) {
    const at = world.auditedAt.get(target);
    const ms = at === undefined ? Number.POSITIVE_INFINITY : at - tickAt;
    if (ms <= deadlineMs) decided++;
    if (at !== undefined) last = Math.max(last, ms);
    if (!fleet.faultyTargets.has(target)) healthy.push(ms);
  }
  healthy.sort((a, b) => a - b);
  return { tickMs: last, healthyP99Ms: healthy[Math.ceil(healthy.length * 0.99) - 1]!, decidedTargets: decided };
}

function engineOptions(world: SimulatedWorld, clock: VirtualClock, overrides: Partial<EvaluationOptions> = {}): EvaluationOptions {
  return { registry: world.registry(), endpoints: noEndpoints, ceiling: 100, owner: 'bench', now: clock.now, log: () => undefined, ...overrides };
}

async function runFanout(fleet: Fleet): Promise<RunResult> {
  const started = performance.now();
  const clock = new VirtualClock();
  const world = new SimulatedWorld(clock, fleet);
  const stores = world.stores();
  const options = engineOptions(world, clock, { targetTimeoutMs: defaultWorkerTargetTimeoutMs });
  const deps = { policies: world, stores, options, now: clock.now };
  let sqsCalls = 0;
  const queue = new InProcessQueue(
    async (message) => {
      const outcome = await runShard(message, deps);
      if (outcome.outcome === 'stale') throw new Error(`bench: shard ${message.shard} went stale`);
    },
    { concurrency: defaultShardSizing.workers, retryDelayMs: 5_000, maxReceives: 3, deliveryDelayMs },
  );
  // The SQS client's stand-in: what SendMessageBatch hands over arrives in the in-process queue.
  const sqs = {
    async send(command: SendMessageBatchCommand) {
      sqsCalls++;
      await world.latency(10, 20);
      const entries = command.input.Entries ?? [];
      await queue.send(entries.map((e) => parseShardMessage(e.MessageBody!)));
      return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })), Failed: [] };
    },
  } as unknown as SQSClient;
  const shardQueue = new SqsShardQueue(sqs, 'https://sqs.eu-west-1.amazonaws.com/123456789012/bench', clock.sleep);
  const tickAt = clock.now();
  const result = await clock.run(async () => {
    const dispatched = await dispatchTick(
      { id: 'tick-1', at: tickAt, intervalMs },
      { index: world, queue: shardQueue, sizing: defaultShardSizing, inProcessMaxTargets: defaultInProcessMaxTargets, runInProcess: (message) => runShard(message, deps) },
    );
    await queue.drained();
    if (queue.deadLetters.length > 0) throw new Error(`bench: ${queue.deadLetters.length} shards dead-lettered: ${queue.deadLetters[0]!.error}`);
    return dispatched;
  });
  return {
    shards: result.shards,
    ...summarize(world, fleet, tickAt, Number.POSITIVE_INFINITY),
    cloudwatchCalls: world.counters.cloudwatchCalls,
    cloudwatchCallsMin: minimumGetMetricDataCalls(planShards(fleet.index, defaultShardSizing)),
    dynamodbReads: world.counters.dynamodbReads,
    dynamodbWrites: world.counters.dynamodbWrites,
    sqsCalls,
    realMs: performance.now() - started,
  };
}

async function runSingleLambda(fleet: Fleet): Promise<RunResult> {
  const started = performance.now();
  const clock = new VirtualClock();
  const world = new SimulatedWorld(clock, fleet);
  const tickAt = clock.now();
  await clock.run(async () => {
    const policies = await world.listPolicies();
    await evaluate(policies, { type: 'schedule', id: 'tick-1' }, world.stores(), engineOptions(world, clock));
  });
  const queries = fleet.index.reduce((sum, e) => sum + e.cloudWatchQueries, 0);
  return {
    shards: 1,
    ...summarize(world, fleet, tickAt, lambdaTimeoutMs),
    cloudwatchCalls: world.counters.cloudwatchCalls,
    cloudwatchCallsMin: Math.ceil(queries / getMetricDataQueriesPerCall),
    dynamodbReads: world.counters.dynamodbReads,
    dynamodbWrites: world.counters.dynamodbWrites,
    sqsCalls: 0,
    realMs: performance.now() - started,
  };
}

const seconds = (ms: number) => (Number.isFinite(ms) ? Math.round(ms / 10) / 100 : Number.POSITIVE_INFINITY);

export default async function fanoutBench(): Promise<void> {
  const json = process.argv.includes('--json');
  const faulty = buildFleet(shape, true);
  const clean = buildFleet(shape, false);
  const targets = new Set(faulty.index.map((e) => e.target));
  for (const dead of faulty.faultyTargets) if (!targets.has(dead)) throw new Error(`bench: dead target ${dead} is not a policy target`);
  const rows: Array<Record<string, string | number>> = [];
  for (const [engine, run] of [
    ['fan-out (SQS + workers)', runFanout],
    ['single Lambda (one shard, no queue)', runSingleLambda],
  ] as const) {
    const withFaults = await run(faulty);
    const noFaults = await run(clean);
    const row = {
      engine,
      policies: faulty.policies.length,
      targets: targets.size,
      deadTargets: faulty.faultyTargets.size,
      shards: withFaults.shards,
      tickSeconds: seconds(withFaults.tickMs),
      tickSecondsNoFaults: seconds(noFaults.tickMs),
      healthyP99Seconds: seconds(withFaults.healthyP99Ms),
      healthyP99SecondsNoFaults: seconds(noFaults.healthyP99Ms),
      decidedWithin2Min: withFaults.decidedTargets,
      cloudwatchCalls: withFaults.cloudwatchCalls,
      cloudwatchCallsMin: withFaults.cloudwatchCallsMin,
      dynamodbReads: withFaults.dynamodbReads,
      dynamodbWrites: withFaults.dynamodbWrites,
      sqsSendMessageBatchCalls: withFaults.sqsCalls,
      realSeconds: seconds(withFaults.realMs + noFaults.realMs),
    };
    const goals = {
      tickWithin60s: row.tickSeconds <= 60,
      healthyP99Within10Percent: row.healthyP99Seconds <= 1.1 * row.healthyP99SecondsNoFaults,
      cloudwatchCallsAtMinimum: row.cloudwatchCalls === row.cloudwatchCallsMin,
    };
    if (json) console.log(JSON.stringify({ ...row, goals }));
    rows.push({ ...row, goals: Object.entries(goals).map(([k, v]) => `${v ? '✓' : '✗'} ${k}`).join(', ') });
  }
  if (!json) {
    // Metrics down, engines across: the comparison side by side.
    printTable(Object.keys(rows[0]!).filter((c) => c !== 'engine').map((c) => ({ metric: c, ...Object.fromEntries(rows.map((r) => [String(r.engine), r[c]!])) })));
  }
}
