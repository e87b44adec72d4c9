/**
 * The `envelope` rule: noise- and burst-aware provisioning from the metric's own recent past. Pure.
 *
 * Desired replicas = the largest of four terms, each in units of C (`perReplica`):
 * - level: mean of the last `meanSeconds` + z × standard deviation of the last `deviationSeconds`.
 *   A noisy load (a few requests per replica per minute, variance several times the mean) is
 *   covered by its spread, not chased minute by minute: fewer under-provisioned minutes than a
 *   utilisation target at fewer replica-minutes than a window maximum.
 * - peak: the highest value of the last `peakSeconds` at `peakUtilization` of C (a short memory
 *   of a jump, so the level's lag does not drop it at once).
 * - rise: the last value plus the last interval's increase (a rise tends to go on one more interval).
 * - burst: for sharp rises seen before at this phase of a period (a value ≥ burstMinRatio × the
 *   lower of the two before it and ≥ burstMinSigmas deviations above it), the remembered rise ADDED
 *   to today's level, from `burstLeadSeconds` before that phase to `burstHoldSeconds` after it. Added,
 *   not multiplied: a cron-like burst brings about the same extra load whatever the base.
 *
 * State (per metric, in the behavior history, so it is read and saved with it under the lease and
 * the simulator replays it through the same code): the recent per-interval values and the
 * remembered rises. Values are per interval of the schedule, not per minute: windows in seconds
 * are turned into counts of the interval the datapoints arrive at. Until a quarter of the deviation
 * window is known (a cold start), the level is left out and the reactive terms decide.
 */
import type { EnvelopeRule, Policy } from '../policy/schema.ts';
import type { BehaviorHistory, MetricReading } from './types.ts';
import type { RuleContext, RuleOutcome } from './rules.ts';

/** One metric's envelope state. Plain numbers and arrays: stored as is in DynamoDB (a few KB at most). */
export interface EnvelopeHistory {
  /** The datapoint time (epoch ms) of the newest value. */
  readonly lastAt: number;
  /** The schedule's interval: the smallest spacing seen between two datapoints (ms); 0 until known. */
  readonly intervalMs: number;
  /** Per-interval values, oldest first; at most `maxValues`, and none older than the longest window. */
  readonly values: readonly number[];
  /** Remembered sharp rises, oldest first: the datapoint time of the risen value and the rise (metric units). */
  readonly rises: ReadonlyArray<{ readonly at: number; readonly rise: number }>;
}

/** Bounds the item: 1,000 values (8 s apart for a 2-hour window) and 256 rises are ~20 KB of DynamoDB item. */
export const maxValues = 1000;
export const maxRises = 256;
/** The level needs this share of its deviation window before it speaks (until then: the reactive terms). */
const warmShare = 0.25;

const envelopeRules = (policy: Policy): EnvelopeRule[] => {
  const rules = Array.isArray(policy.rule) ? policy.rule : [policy.rule];
  return rules.filter((rule): rule is EnvelopeRule => rule.type === 'envelope');
};

/** A behavior history not written for this long expires; what a policy's envelope rules remember can outlast it. */
const minHistoryRetentionSeconds = 2 * 86_400;
/** And no longer than the audit's default retention: a pause longer than that starts afresh. */
const maxHistoryRetentionSeconds = 400 * 86_400;

/**
 * How long a policy's behavior history must outlive its last write: at least 2 days, and as long as
 * its envelope rules remember sharp rises (period × remember), so pausing a policy for a weekend
 * does not forget the bursts it learned (capped at 400 days).
 */
export function historyRetentionSeconds(policy: Policy): number {
  const remembered = envelopeRules(policy).flatMap((rule) => rule.bursts.map((b) => b.periodSeconds * b.remember));
  return Math.min(maxHistoryRetentionSeconds, Math.max(minHistoryRetentionSeconds, ...remembered));
}


/** How far back a rule's values must reach (ms): its longest window, at least three intervals. */
function keepMs(rule: EnvelopeRule, intervalMs: number): number {
  return Math.max(rule.meanSeconds, rule.deviationSeconds, rule.peakSeconds) * 1000 + 2 * intervalMs;
}

function rememberMs(rule: EnvelopeRule): number {
  let longest = 0;
  for (const b of rule.bursts) longest = Math.max(longest, b.periodSeconds * b.remember * 1000);
  return longest;
}

/**
 * The history with this evaluation's reading added to each envelope rule's metric state (the first
 * envelope rule on a metric owns its state). Only real datapoints: a missing metric or a fallback
 * value adds nothing. A datapoint not newer than the last one is ignored (an extra evaluation
 * within the same period reads the same datapoint). Unchanged when the policy has no envelope rule.
 */
export function advanceEnvelopes(policy: Policy, history: BehaviorHistory, metrics: Readonly<Record<string, MetricReading | undefined>>, now: number): BehaviorHistory {
  const rules = envelopeRules(policy);
  if (rules.length === 0) return history;
  let next: Record<string, EnvelopeHistory> | undefined;
  const owned = new Set<string>();
  for (const rule of rules) {
    if (owned.has(rule.metric)) continue;
    owned.add(rule.metric);
    const state = history.envelope?.[rule.metric];
    const reading = metrics[rule.metric];
    const advanced = reading !== undefined && Number.isFinite(reading.value) ? advance(rule, state, reading.value, reading.timestamp) : expire(rule, state, now);
    if (advanced !== state) {
      next ??= { ...history.envelope };
      if (advanced === undefined) delete next[rule.metric];
      else next[rule.metric] = advanced;
    }
  }
  return next === undefined ? history : { ...history, envelope: next };
}

/** Drops remembered rises past their TTL when no datapoint came (the state never grows without one). */
function expire(rule: EnvelopeRule, state: EnvelopeHistory | undefined, now: number): EnvelopeHistory | undefined {
  if (state === undefined) return undefined;
  const cutoff = now - rememberMs(rule);
  if (state.rises.length === 0 || state.rises[0]!.at > cutoff) return state;
  return { ...state, rises: state.rises.filter((r) => r.at > cutoff) };
}

/** Adds one datapoint: values trimmed to the longest window, a sharp rise remembered. */
export function advance(rule: EnvelopeRule, state: EnvelopeHistory | undefined, value: number, at: number): EnvelopeHistory {
  if (state !== undefined && at <= state.lastAt) return state;
  const gap = state === undefined ? 0 : at - state.lastAt;
  let intervalMs = state?.intervalMs ?? 0;
  if (gap > 0 && (intervalMs === 0 || gap < intervalMs)) intervalMs = Math.max(1000, gap);
  // After a gap longer than every window, the old values describe another load: start again.
  const stale = state === undefined || (intervalMs > 0 && gap > keepMs(rule, intervalMs));
  const previous = stale ? [] : state.values;
  const keepCount = intervalMs > 0 ? Math.min(maxValues, Math.ceil(keepMs(rule, intervalMs) / intervalMs)) : maxValues;
  const drop = Math.max(0, previous.length + 1 - keepCount);
  const values = previous.slice(drop);
  values.push(value);

  let rises = state?.rises ?? [];
  const remember = rememberMs(rule);
  if (remember > 0) {
    const cutoff = at - remember;
    if (rises.length > 0 && rises[0]!.at <= cutoff) rises = rises.filter((r) => r.at > cutoff);
    const rise = sharpRise(rule, previous, value, intervalMs);
    if (rise > 0) {
      const last = rises[rises.length - 1];
      // One burst, one memory: a rise within two intervals of the last one continues it.
      if (last !== undefined && at - last.at <= 2 * intervalMs) rises = [...rises.slice(0, -1), { at: last.at, rise: Math.max(last.rise, rise) }];
      else rises = [...rises.slice(Math.max(0, rises.length + 1 - maxRises)), { at, rise }];
    }
  } else if (rises.length > 0) {
    rises = [];
  }
  return { lastAt: at, intervalMs, values, rises };
}

/** The rise of `value` over the lower of the two values before it, if it is sharp (else 0). */
function sharpRise(rule: EnvelopeRule, previous: readonly number[], value: number, intervalMs: number): number {
  const n = previous.length;
  if (intervalMs === 0 || n < warmCount(rule, intervalMs)) return 0;
  const base = n >= 2 ? Math.min(previous[n - 1]!, previous[n - 2]!) : previous[n - 1]!;
  const rise = value - base;
  if (rise <= 0 || value < rule.burstMinRatio * base) return 0;
  const { deviation } = stats(previous, windowCount(rule.meanSeconds, intervalMs), windowCount(rule.deviationSeconds, intervalMs));
  return rise >= rule.burstMinSigmas * deviation ? rise : 0;
}

function windowCount(seconds: number, intervalMs: number): number {
  return Math.max(1, Math.round((seconds * 1000) / intervalMs));
}

function warmCount(rule: EnvelopeRule, intervalMs: number): number {
  return Math.max(2, Math.ceil(warmShare * windowCount(rule.deviationSeconds, intervalMs)));
}

/**
 * Mean of the last `meanCount` values, and the noise's standard deviation over the last
 * `deviationCount`, estimated from the changes between consecutive values: for independent noise
 * E|x(i) − x(i−1)| = 2σ/√π, so σ = mean |change| × √π / 2. Unlike the plain deviation of the values
 * it does not count a slow trend (the daily cycle) as noise, and one burst weighs in linearly, not
 * squared, so it does not inflate the level for the next hour.
 */
export function stats(values: readonly number[], meanCount: number, deviationCount: number): { mean: number; deviation: number } {
  const n = values.length;
  const m = Math.min(n, meanCount);
  let sum = 0;
  for (let i = n - m; i < n; i++) sum += values[i]!;
  const d = Math.min(n, deviationCount);
  let changes = 0;
  for (let i = n - d + 1; i < n; i++) changes += Math.abs(values[i]! - values[i - 1]!);
  return { mean: m > 0 ? sum / m : 0, deviation: d > 1 ? (changes / (d - 1)) * halfRootPi : 0 };
}

const halfRootPi = Math.sqrt(Math.PI) / 2;

/**
 * The remembered rise due now: among the rises with a recurrence (one period or more after them, at
 * one of the periods, within its memory) between `burstHoldSeconds` ago and `burstLeadSeconds`
 * ahead, the largest, once at least `burstMinRepeats` of them fall on this phase (one rise alone
 * may have been an accident; a phase that rose again is a schedule). 0 when none is due.
 */
export function dueRise(rule: EnvelopeRule, rises: EnvelopeHistory['rises'], now: number): number {
  const lead = rule.burstLeadSeconds * 1000;
  const span = lead + rule.burstHoldSeconds * 1000;
  // Up to 4 periods (the schema's limit), unrolled into locals: this loop runs over every remembered rise.
  const b = rule.bursts;
  const count = b.length;
  const p0 = count > 0 ? b[0]!.periodSeconds * 1000 : 0, r0 = count > 0 ? b[0]!.remember : 0;
  const p1 = count > 1 ? b[1]!.periodSeconds * 1000 : 0, r1 = count > 1 ? b[1]!.remember : 0;
  const p2 = count > 2 ? b[2]!.periodSeconds * 1000 : 0, r2 = count > 2 ? b[2]!.remember : 0;
  const p3 = count > 3 ? b[3]!.periodSeconds * 1000 : 0, r3 = count > 3 ? b[3]!.remember : 0;
  let due = 0;
  let matches = 0;
  for (let i = 0; i < rises.length; i++) {
    const r = rises[i]!;
    // From the rise to the end of the window [now − hold, now + lead]: a recurrence k periods after
    // the rise falls in the window when this is k periods plus at most `span`, k from 1 to remember.
    const since = now + lead - r.at;
    if (recurs(since, p0, r0, span) || (count > 1 && (recurs(since, p1, r1, span) || (count > 2 && (recurs(since, p2, r2, span) || (count > 3 && recurs(since, p3, r3, span))))))) {
      matches++;
      if (r.rise > due) due = r.rise;
    }
  }
  return matches >= rule.burstMinRepeats ? due : 0;
}

function recurs(since: number, period: number, remember: number, span: number): boolean {
  if (period === 0 || since < period) return false;
  // floor and subtract, not %: a floating-point remainder of epoch milliseconds is several times slower.
  const k = Math.floor(since / period);
  return k <= remember && since - k * period <= span;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

/** The envelope rule's recommendation, from the history already advanced with this reading (see decide). */
export function evaluateEnvelope(rule: EnvelopeRule, ctx: RuleContext): RuleOutcome {
  const reading = ctx.metrics[rule.metric];
  const real = reading !== undefined && Number.isFinite(reading.value);
  const onMissing = ctx.policy.onMissingMetric;
  if (!real && onMissing === 'hold') return { kind: 'missing', metric: rule.metric, text: `${rule.metric} has no datapoint (held, never read as 0)` };
  const latest = real ? reading.value : (onMissing as { value: number }).value;
  const state = ctx.history.envelope?.[rule.metric];
  const c = rule.perReplica;
  const values = state?.values ?? [];
  const n = values.length;
  const intervalMs = state?.intervalMs ?? 0;
  const label = real ? `${rule.metric}=${fmt(latest)}` : `${rule.metric} missing, fallback ${fmt(latest)}`;

  // Reactive terms: the last value plus its increase, and the short recent peak at peakUtilization.
  const before = real && n >= 2 ? values[n - 2]! : n >= 1 && !real ? values[n - 1]! : undefined;
  const increase = before === undefined ? 0 : Math.max(0, latest - before);
  let peak = latest;
  if (intervalMs > 0) {
    const peakCount = Math.min(n, Math.round((rule.peakSeconds * 1000) / intervalMs) + 1);
    for (let i = n - peakCount; i < n; i++) if (values[i]! > peak) peak = values[i]!;
  }
  // The terms in units of C; the text is written for the winner only (decide runs at 100k+/s).
  const riseTerm = (latest + increase) / c;
  const peakTerm = peak / (rule.peakUtilization * c);
  let levelTerm = 0;
  let mean = 0;
  let deviation = 0;
  let level = latest;
  let warming = '';
  if (intervalMs > 0 && n >= warmCount(rule, intervalMs)) {
    ({ mean, deviation } = stats(values, windowCount(rule.meanSeconds, intervalMs), windowCount(rule.deviationSeconds, intervalMs)));
    level = mean + rule.z * deviation;
    levelTerm = level / c;
  } else {
    warming = ` (level warming up: ${n} values)`;
  }
  const rise = state !== undefined && rule.bursts.length > 0 ? dueRise(rule, state.rises, ctx.now) : 0;
  const burstTerm = rise > 0 ? (Math.max(level, latest) + rise) / c : 0;
  const needed = Math.max(riseTerm, peakTerm, levelTerm, burstTerm);
  const why = () =>
    needed === burstTerm
      ? `remembered burst +${fmt(rise)} on ${fmt(Math.max(level, latest))}`
      : needed === levelTerm
        ? `level ${fmt(mean)}+${rule.z}×${fmt(deviation)}`
        : needed === peakTerm
          ? `peak ${fmt(peak)} at ${rule.peakUtilization}`
          : `rise ${fmt(latest)}+${fmt(increase)}`;
  const wanted = Math.max(0, Math.ceil(needed - 1e-9));
  const current = ctx.currentReplicas;
  const text = `${label} at ${fmt(c)} per replica: ${why()}${warming} → ${fmt(needed)} replicas`;
  if (current > 0 && wanted !== current) {
    // As the target rule: within the behavior's tolerance of the current size, keep it.
    const { behavior } = ctx.policy;
    const ratio = needed / current;
    const tolerance = ratio > 1 ? (behavior.scaleUp.tolerance ?? behavior.tolerance) : (behavior.scaleDown.tolerance ?? behavior.tolerance);
    if (Math.abs(1 - ratio) <= tolerance) return { kind: 'desired', replicas: current, text: `${text}, within tolerance ${tolerance} of ${current} → keep ${current}`, hold: 'WithinTolerance' };
  }
  return { kind: 'desired', replicas: wanted, text: `${text} → ${wanted}` };
}
