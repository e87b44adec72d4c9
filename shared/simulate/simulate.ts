/**
 * Replays a per-minute demand trace through the production `decide()`, under one fixed model so
 * results compare across tools (DESIGN.md, "autoscaler simulate"):
 *
 * - a decision every minute; at minute t every metric of the policy reads the demand of minute t-1
 *   (at the first minute of a trace there is no earlier minute: the metrics are missing, and the
 *   policy's onMissingMetric applies);
 * - replicas added at minute t serve from minute t + startup; removal is immediate and takes the
 *   replicas that are not serving yet first (the most recently added first);
 * - minute t is under-provisioned when demand(t) > C × servingReplicas(t);
 * - replicaMinutes = Σ over minutes of the replicas that exist after that minute's decision,
 *   serving or still starting (what a user pays for);
 * - actions = minutes whose decision changed the desired replicas; peakReplicas = most replicas at once.
 *
 * The policy is simulated as enabled even if it is not (dryRun does not change decisions).
 * The run starts with `initialReplicas` (default: the policy's capacity.min, within the ceiling),
 * all serving, and an empty behavior history.
 */
import { decide } from '../engine/decide.ts';
import { emptyHistory, type BehaviorHistory, type MetricReading } from '../engine/types.ts';
import { rulesOf, type Policy } from '../policy/schema.ts';

export interface SimulateOptions {
  /** C: requests per minute one serving replica handles. */
  readonly perReplica: number;
  /** Minutes from a replica's creation to its first serving minute. Default 1. */
  readonly startupMinutes?: number;
  /** Deployment-wide replica ceiling passed to decide. Default 10,000. */
  readonly ceiling?: number;
  /** Window of the trace to replay, as indices into `demand`: [from, to). Default: all of it. */
  readonly from?: number;
  readonly to?: number;
  /** Replicas at the start of the window, all serving. Default: capacity.min (within the ceiling). */
  readonly initialReplicas?: number;
  /** Keep the per-minute replicas and serving replicas (for plots). */
  readonly keepSeries?: boolean;
  /** Called every few thousand minutes with the minutes done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SimulationSummary {
  readonly minutes: number;
  readonly underProvisionedMinutes: number;
  readonly replicaMinutes: number;
  readonly actions: number;
  readonly peakReplicas: number;
}

export interface SimulationSeries {
  /** Replicas that exist (serving or starting) after each minute's decision. */
  readonly replicas: Int32Array;
  /** Replicas serving in each minute. */
  readonly serving: Int32Array;
}

export interface SimulationResult extends SimulationSummary {
  readonly series?: SimulationSeries;
}

export const defaultCeiling = 10_000;
/** An arbitrary fixed epoch for minute 0, so decide sees realistic timestamps. */
const epochMs = Date.UTC(2025, 0, 1);
const minuteMs = 60_000;
const progressEvery = 4096;

export function simulate(policy: Policy, demand: ArrayLike<number>, options: SimulateOptions): SimulationResult {
  const startup = options.startupMinutes ?? 1;
  const ceiling = options.ceiling ?? defaultCeiling;
  const from = options.from ?? 0;
  const to = options.to ?? demand.length;
  checkOptions(options, startup, ceiling, from, to, demand.length);
  assertSimulatable(policy);
  // The question is "what would this policy do": a policy not enabled yet is simulated as enabled.
  const simulated: Policy = policy.enabled ? policy : { ...policy, enabled: true };

  const total = to - from;
  const metricIds = policy.metrics.map((m) => m.id);
  const series = options.keepSeries ? { replicas: new Int32Array(total), serving: new Int32Array(total) } : undefined;

  let serving = Math.min(options.initialReplicas ?? policy.capacity.min, ceiling);
  // Replicas still starting, oldest first: the minute they start serving and how many.
  const starting: Array<{ readyAt: number; count: number }> = [];
  let startingCount = 0;
  let history: BehaviorHistory = emptyHistory;
  let underProvisionedMinutes = 0;
  let replicaMinutes = 0;
  let actions = 0;
  let peakReplicas = serving;

  for (let t = from; t < to; t++) {
    // Replicas whose startup is over serve from this minute.
    while (starting.length > 0 && starting[0]!.readyAt <= t) {
      const ready = starting.shift()!;
      serving += ready.count;
      startingCount -= ready.count;
    }

    const now = epochMs + t * minuteMs;
    const metrics: Record<string, MetricReading | undefined> = {};
    const seen = t > 0 ? { value: demand[t - 1]!, timestamp: now - minuteMs } : undefined;
    for (const id of metricIds) metrics[id] = seen;

    const current = serving + startingCount;
    const decision = decide({ policy: simulated, currentReplicas: current, metrics, now, history, ceiling });
    history = decision.history;
    const desired = decision.desiredReplicas;

    if (desired > current) {
      if (startup === 0) serving += desired - current;
      else {
        starting.push({ readyAt: t + startup, count: desired - current });
        startingCount += desired - current;
      }
    } else if (desired < current) {
      let remove = current - desired;
      // Replicas not serving yet go first, the most recently added first.
      while (remove > 0 && starting.length > 0) {
        const newest = starting[starting.length - 1]!;
        const taken = Math.min(newest.count, remove);
        newest.count -= taken;
        startingCount -= taken;
        remove -= taken;
        if (newest.count === 0) starting.pop();
      }
      serving -= remove;
    }
    if (desired !== current) actions++;

    const replicas = serving + startingCount;
    replicaMinutes += replicas;
    if (replicas > peakReplicas) peakReplicas = replicas;
    if (demand[t]! > options.perReplica * serving) underProvisionedMinutes++;
    if (series) {
      series.replicas[t - from] = replicas;
      series.serving[t - from] = serving;
    }
    if (options.onProgress && (t - from + 1) % progressEvery === 0) options.onProgress(t - from + 1, total);
  }
  options.onProgress?.(total, total);

  const summary: SimulationSummary = { minutes: total, underProvisionedMinutes, replicaMinutes, actions, peakReplicas };
  return series ? { ...summary, series } : summary;
}

function checkOptions(options: SimulateOptions, startup: number, ceiling: number, from: number, to: number, length: number): void {
  if (!(Number.isFinite(options.perReplica) && options.perReplica > 0)) throw new RangeError(`perReplica must be a number > 0, got ${options.perReplica}`);
  if (!(Number.isInteger(startup) && startup >= 0)) throw new RangeError(`startupMinutes must be an integer >= 0, got ${startup}`);
  if (!(Number.isInteger(ceiling) && ceiling >= 1)) throw new RangeError(`ceiling must be an integer >= 1, got ${ceiling}`);
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to <= length && from < to)) {
    throw new RangeError(`window [${from}, ${to}) must be a non-empty part of the trace's ${length} minutes`);
  }
  const initial = options.initialReplicas;
  if (initial !== undefined && !(Number.isInteger(initial) && initial >= 0)) throw new RangeError(`initialReplicas must be an integer >= 0, got ${initial}`);
}

/** An alarm-only stepAdjust rule has no metric to feed the trace to. */
function assertSimulatable(policy: Policy): void {
  rulesOf(policy).forEach((rule, i) => {
    if (rule.type === 'stepAdjust' && rule.metric === undefined) {
      throw new Error(`policy "${policy.id}" cannot be simulated: rule ${i} is a stepAdjust rule driven only by alarms (give it metric and threshold to simulate it)`);
    }
  });
}
