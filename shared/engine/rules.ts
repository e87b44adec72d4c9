/**
 * The three rule types, each turning metric readings into a raw desired replica count (before
 * behavior and bounds). Pure: no clock, no I/O.
 */
import type { Policy, Rule, StepAdjustRule, StepsRule, TargetRule } from '../policy/schema.ts';
import { evaluateEnvelope } from './envelope.ts';
import type { AlarmContext, BehaviorHistory, MetricReading } from './types.ts';
import { count } from '../plural.ts';

export type RuleOutcome =
  /** The rule recommends `replicas`. `hold` marks "keep current" for a reason (tolerance, cooldown). */
  | { readonly kind: 'desired'; readonly replicas: number; readonly text: string; readonly hold?: 'WithinTolerance' | 'Cooldown' }
  /** The rule's metric had no datapoint and onMissingMetric is hold. */
  | { readonly kind: 'missing'; readonly metric: string; readonly text: string }
  /** The alarm that drives the rule is in INSUFFICIENT_DATA. */
  | { readonly kind: 'insufficient'; readonly text: string }
  /** An alarm-only stepAdjust rule evaluated without an alarm: nothing to say. */
  | { readonly kind: 'idle'; readonly text: string };

export interface RuleContext {
  readonly policy: Policy;
  readonly currentReplicas: number;
  readonly metrics: Readonly<Record<string, MetricReading | undefined>>;
  readonly now: number;
  readonly history: BehaviorHistory;
  readonly alarm?: AlarmContext;
}

/** The metric's value, the configured fallback when it is missing, or undefined (hold). Never 0 by accident. */
function readMetric(ctx: RuleContext, metric: string): { value: number; fallback: boolean } | undefined {
  const reading = ctx.metrics[metric];
  if (reading !== undefined && Number.isFinite(reading.value)) return { value: reading.value, fallback: false };
  const onMissing = ctx.policy.onMissingMetric;
  return onMissing === 'hold' ? undefined : { value: onMissing.value, fallback: true };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

function describeValue(metric: string, read: { value: number; fallback: boolean }): string {
  return read.fallback ? `${metric} missing, fallback ${fmt(read.value)}` : `${metric}=${fmt(read.value)}`;
}

function missing(metric: string): RuleOutcome {
  return { kind: 'missing', metric, text: `${metric} has no datapoint (held, never read as 0)` };
}

/** Steps: the replicas of the highest threshold the value reaches; below the first, the policy min. */
export function evaluateSteps(rule: StepsRule, ctx: RuleContext): RuleOutcome {
  const read = readMetric(ctx, rule.metric);
  if (read === undefined) return missing(rule.metric);
  let reached: [number, number] | undefined;
  for (const step of rule.steps) {
    if (read.value >= step[0]) reached = step;
    else break;
  }
  if (reached === undefined) {
    const min = ctx.policy.capacity.min;
    return { kind: 'desired', replicas: min, text: `${describeValue(rule.metric, read)} below the first step ${fmt(rule.steps[0]![0])} → min ${count(min, 'replica')}` };
  }
  return { kind: 'desired', replicas: reached[1], text: `${describeValue(rule.metric, read)} reached step ${fmt(reached[0])} → ${count(reached[1], 'replica')}` };
}

/**
 * Target (HPA AverageValue, replica_calculator.go GetExternalPerPodMetricReplicas): keep current
 * when the usage ratio is within the tolerance, else ceil(value / perReplica).
 */
export function evaluateTarget(rule: TargetRule, ctx: RuleContext): RuleOutcome {
  const read = readMetric(ctx, rule.metric);
  if (read === undefined) return missing(rule.metric);
  const current = ctx.currentReplicas;
  const wanted = Math.max(0, Math.ceil(read.value / rule.perReplica));
  const label = `${describeValue(rule.metric, read)} at ${fmt(rule.perReplica)} per replica`;
  if (rule.scaleDownPeakSeconds !== undefined && current > 0 && read.value < current * rule.perReplica) {
    return scaleDownOnPeak(rule, rule.scaleDownPeakSeconds, ctx, read.value, label);
  }
  if (current > 0) {
    const usageRatio = read.value / (current * rule.perReplica);
    // Kubernetes 1.33 (KEP-4951): each direction may have its own tolerance.
    const { behavior } = ctx.policy;
    const tolerance = usageRatio > 1 ? (behavior.scaleUp.tolerance ?? behavior.tolerance) : (behavior.scaleDown.tolerance ?? behavior.tolerance);
    if (Math.abs(1 - usageRatio) <= tolerance) {
      return {
        kind: 'desired',
        replicas: current,
        text: `${label}: usage ratio ${fmt(usageRatio)} within tolerance ${tolerance} → keep ${current}`,
        ...(wanted !== current ? { hold: 'WithinTolerance' as const } : {}),
      };
    }
  }
  const headroom = rule.scaleUpHeadroom ?? 0;
  if (headroom > 0 && wanted > current) {
    // Size a scale-out for a lower load per replica, so it also covers the rise still to come.
    const withHeadroom = Math.ceil(read.value / (rule.perReplica * (1 - headroom)));
    return { kind: 'desired', replicas: withHeadroom, text: `${label} with scale-up headroom ${headroom} → ${count(withHeadroom, 'replica')}` };
  }
  return { kind: 'desired', replicas: wanted, text: `${label} → ${count(wanted, 'replica')}` };
}

/** The highest of `latest` and the readings of `metric` stored in the last `seconds` (strictly newer than now - seconds). */
export function recentPeak(history: BehaviorHistory, metric: string, seconds: number, now: number, latest: number): number {
  const cutoff = now - seconds * 1000;
  let peak = latest;
  for (const reading of history.readings?.[metric] ?? []) if (reading.at > cutoff && reading.at <= now && reading.value > peak) peak = reading.value;
  return peak;
}

/**
 * `scaleDownPeakSeconds`, with the load below the current capacity: hold while the recent peak is
 * within the scale-down tolerance (or would not fit fewer replicas), else scale in to fit the peak.
 */
function scaleDownOnPeak(rule: TargetRule, seconds: number, ctx: RuleContext, latest: number, label: string): RuleOutcome {
  const current = ctx.currentReplicas;
  const peak = recentPeak(ctx.history, rule.metric, seconds, ctx.now, latest);
  const forPeak = Math.max(0, Math.ceil(peak / rule.perReplica));
  const usageRatio = peak / (current * rule.perReplica);
  const { behavior } = ctx.policy;
  const tolerance = behavior.scaleDown.tolerance ?? behavior.tolerance;
  const peakText = `${label}: peak ${fmt(peak)} of the last ${seconds}s`;
  if (forPeak >= current || 1 - usageRatio <= tolerance) {
    const wanted = Math.max(0, Math.ceil(latest / rule.perReplica));
    return {
      kind: 'desired',
      replicas: current,
      text: `${peakText} at usage ratio ${fmt(usageRatio)} within scale-down tolerance ${tolerance} → keep ${current}`,
      ...(wanted !== current ? { hold: 'WithinTolerance' as const } : {}),
    };
  }
  return { kind: 'desired', replicas: forPeak, text: `${peakText} → ${count(forPeak, 'replica')}` };
}

/**
 * AWS rounding of a PercentChangeInCapacity change: between -1 and 1 (not 0) away from zero to ±1;
 * otherwise truncated toward zero (12.7 → 12, -6.67 → -6).
 */
export function roundAwsPercentChange(change: number): number {
  if (change === 0) return 0;
  if (change > -1 && change < 1) return change > 0 ? 1 : -1;
  return Math.trunc(change);
}

type Step = StepAdjustRule['adjustments'][number];

/**
 * The step for a breach (value - threshold). AWS: above the threshold the lower bound is inclusive
 * and the upper exclusive; below it the lower bound is exclusive and the upper inclusive.
 */
export function findStep(adjustments: readonly Step[], breach: number): Step | undefined {
  const above = (s: Step) => (s.lower === undefined || breach >= s.lower) && (s.upper === undefined || breach < s.upper);
  const below = (s: Step) => (s.lower === undefined || breach > s.lower) && (s.upper === undefined || breach <= s.upper);
  if (breach > 0) return adjustments.find(above);
  if (breach < 0) return adjustments.find(below);
  return adjustments.find(above) ?? adjustments.find(below);
}

/** Applies one step adjustment to `base` replicas with AWS's adjustment types and rounding. */
export function applyAdjustment(rule: StepAdjustRule, base: number, adjustment: number): number {
  switch (rule.adjustmentType) {
    case 'ExactCapacity':
      return adjustment;
    case 'ChangeInCapacity':
      return base + adjustment;
    case 'PercentChangeInCapacity': {
      let change = roundAwsPercentChange((base * adjustment) / 100);
      const magnitude = rule.minAdjustmentMagnitude;
      if (magnitude !== undefined && change !== 0 && Math.abs(change) < magnitude) change = Math.sign(change) * magnitude;
      return base + change;
    }
  }
}

/** The replicas added by scale-outs within the cooldown (the ones AWS counts toward the next scale-out). */
function addedDuringCooldown(history: BehaviorHistory, now: number, cooldownMs: number): number {
  let added = 0;
  for (const event of history.events) if (event.delta > 0 && now - event.at < cooldownMs) added += event.delta;
  return added;
}

/**
 * AWS Application Auto Scaling step scaling. The breach is the alarm's value minus its threshold
 * (or the rule's own metric minus its threshold). Cooldown: during a scale-out cooldown the capacity
 * that cooldown's scale-outs added counts as part of the next scale-out (so only a larger step adds
 * more) and scale-in is blocked; during a scale-in cooldown scale-in is blocked, scale-out is not.
 * An alarm in OK allows only scale-in; INSUFFICIENT_DATA does nothing.
 */
export function evaluateStepAdjust(rule: StepAdjustRule, ctx: RuleContext): RuleOutcome {
  const current = ctx.currentReplicas;
  let value: number;
  let threshold: number;
  let label: string;
  let scaleInOnly = false;
  if (ctx.alarm !== undefined) {
    if (ctx.alarm.state === 'INSUFFICIENT_DATA') return { kind: 'insufficient', text: `alarm ${ctx.alarm.name} has insufficient data` };
    value = ctx.alarm.value;
    threshold = ctx.alarm.threshold;
    scaleInOnly = ctx.alarm.state === 'OK';
    label = `alarm ${ctx.alarm.name} (${ctx.alarm.state}) value ${fmt(value)} vs threshold ${fmt(threshold)}`;
  } else if (rule.metric !== undefined && rule.threshold !== undefined) {
    const read = readMetric(ctx, rule.metric);
    if (read === undefined) return missing(rule.metric);
    value = read.value;
    threshold = rule.threshold;
    label = `${describeValue(rule.metric, read)} vs threshold ${fmt(threshold)}`;
  } else {
    return { kind: 'idle', text: 'stepAdjust rule waits for its alarm' };
  }

  const breach = value - threshold;
  const step = findStep(rule.adjustments, breach);
  if (step === undefined) return { kind: 'desired', replicas: current, text: `${label}: breach ${fmt(breach)} in no step → keep ${current}` };
  const unit = rule.adjustmentType === 'PercentChangeInCapacity' ? '%' : rule.adjustmentType === 'ExactCapacity' ? ' (exact)' : '';
  const stepText = `${label}: breach ${fmt(breach)} in step [${step.lower ?? '-∞'}, ${step.upper ?? '+∞'}) adjustment ${step.adjustment > 0 ? '+' : ''}${step.adjustment}${unit}`;
  let desired = Math.max(0, applyAdjustment(rule, current, step.adjustment));

  if (scaleInOnly && desired > current) return { kind: 'desired', replicas: current, text: `${stepText}; alarm is OK, so scale-in only → keep ${current}` };

  const cooldownMs = rule.cooldownSeconds * 1000;
  const { lastScaleOutAt, lastScaleInAt } = ctx.history;
  const inScaleOutCooldown = lastScaleOutAt !== undefined && ctx.now - lastScaleOutAt < cooldownMs;
  const inScaleInCooldown = lastScaleInAt !== undefined && ctx.now - lastScaleInAt < cooldownMs;
  if (desired < current && (inScaleOutCooldown || inScaleInCooldown)) {
    return { kind: 'desired', replicas: current, text: `${stepText}; no scale-in during the ${inScaleOutCooldown ? 'scale-out' : 'scale-in'} cooldown (${rule.cooldownSeconds}s) → keep ${current}`, hold: 'Cooldown' };
  }
  if (desired > current && inScaleOutCooldown) {
    const added = addedDuringCooldown(ctx.history, ctx.now, cooldownMs);
    const base = current - added;
    desired = Math.max(0, applyAdjustment(rule, base, step.adjustment));
    if (desired <= current) {
      return { kind: 'desired', replicas: current, text: `${stepText}; in the scale-out cooldown the ${count(added, 'replica')} already added count toward it → keep ${current}`, hold: 'Cooldown' };
    }
    return { kind: 'desired', replicas: desired, text: `${stepText} on ${base} (the ${added} added in the cooldown count) → ${count(desired, 'replica')}` };
  }
  return { kind: 'desired', replicas: desired, text: `${stepText} → ${count(desired, 'replica')}` };
}

export function evaluateRule(rule: Rule, ctx: RuleContext): RuleOutcome {
  switch (rule.type) {
    case 'steps':
      return evaluateSteps(rule, ctx);
    case 'target':
      return evaluateTarget(rule, ctx);
    case 'stepAdjust':
      return evaluateStepAdjust(rule, ctx);
    case 'envelope':
      return evaluateEnvelope(rule, ctx);
  }
}
