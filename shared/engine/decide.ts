/**
 * The decision engine: rule → raw desired → HPA behavior → bounds → suspend. Pure.
 */
import { rulesOf } from '../policy/schema.ts';
import { advanceEnvelopes } from './envelope.ts';
import { limitRate, policyName, stabilize, type RateLimited } from './behavior.ts';
import { evaluateRule, type RuleOutcome } from './rules.ts';
import type { BehaviorHistory, Decision, DecisionInput, NotScaledReason } from './types.ts';

/**
 * Decides the replicas for one evaluation of one policy. A pure function of `input`: no clock, no I/O.
 *
 * 1. Rules: each rule gives a raw desired count (steps / target / stepAdjust); with several, the
 *    largest wins (as the HPA). A missing metric is never read as 0: with `onMissingMetric: hold`
 *    its rule gives no recommendation; if no rule gives one, nothing changes (MissingMetric); if some
 *    do but the others would scale in, nothing changes either (the HPA does not scale down while a
 *    metric is invalid). With `{ value: N }` the missing metric reads N.
 * 2. Behavior, exactly as the HPA: stabilization windows over past recommendations, then rate-limit
 *    policies over past scale events, with min and max applied in the direction of the change.
 *    A policy whose rules are all `stepAdjust` follows AWS step scaling instead: no stabilization
 *    window and no rate limit (its brakes are the rule's cooldown and MinAdjustmentMagnitude), so
 *    an ExactCapacity step of 20 goes to 20, as in AWS; `behavior` does not apply to it.
 *    When the current replicas are outside [min, max] the HPA skips its behavior and goes straight to
 *    the bound; so does this.
 * 3. Bounds: min, and the lower of the policy max and the deployment-wide `ceiling`.
 * 4. Suspend: a suspended direction turns the change into none (Suspended).
 *
 * `dryRun` does NOT change the decision: the caller records status DryRun and does not act, and
 * the history returned here is what the history would have been, so a dry run shows what the policy
 * would really do. The caller stores `history` only if it acts (or in dry run, to keep simulating).
 */
export function decide(given: DecisionInput): Decision {
  // Envelope rules see this reading as part of their recent values; the state is saved with the history.
  const envelopeHistory = advanceEnvelopes(given.policy, given.history, given.metrics, given.now);
  const input = envelopeHistory === given.history ? given : { ...given, history: envelopeHistory };
  const { policy, currentReplicas: current, now, history } = input;
  const behavior = policy.behavior;
  const maxReplicas = Math.max(0, Math.min(policy.capacity.max, input.ceiling));
  const minReplicas = Math.min(policy.capacity.min, maxReplicas);
  const retention = retentionMs(input);

  if (!policy.enabled) {
    return hold(input, null, 'PolicyDisabled', 'policy is disabled', prune(history, now, retention));
  }

  // 1. Rules
  const ctx = { policy, currentReplicas: current, metrics: input.metrics, now, history, ...(input.alarm ? { alarm: input.alarm } : {}) };
  const outcomes: RuleOutcome[] = rulesOf(policy).map((rule) => evaluateRule(rule, ctx));
  let winner: Extract<RuleOutcome, { kind: 'desired' }> | undefined;
  for (const outcome of outcomes) {
    if (outcome.kind === 'desired' && (winner === undefined || outcome.replicas > winner.replicas)) winner = outcome;
  }
  const notes = outcomes.filter((o) => o !== winner).map((o) => o.text);
  const missingCount = outcomes.filter((o) => o.kind === 'missing').length;

  if (winner === undefined) {
    const pruned = prune(withReadings(input), now, retention);
    if (outcomes.some((o) => o.kind === 'missing')) return hold(input, null, 'MissingMetric', sentence(notes, `keep ${current}`), pruned);
    if (outcomes.some((o) => o.kind === 'insufficient')) return hold(input, null, 'AlarmInsufficientData', sentence(notes, `keep ${current}`), pruned);
    return hold(input, null, 'AtDesired', sentence(notes, `keep ${current}`), pruned);
  }
  const rawDesired = winner.replicas;
  if (missingCount > 0 && rawDesired < current) {
    // horizontal.go computeReplicasForMetrics: with an invalid metric, scale up but never down.
    return hold(input, rawDesired, 'MissingMetric', sentence([winner.text, ...notes], `no scale-in while a metric is missing → keep ${current}`), prune(withReadings(input), now, retention));
  }

  // 2. Behavior and 3. bounds
  let desired: number;
  let limitText = '';
  let limitReason: NotScaledReason | undefined;
  let recordRecommendation = true;
  if (current > maxReplicas) {
    desired = maxReplicas;
    limitText = `current ${current} is above max ${maxReplicas} → ${maxReplicas}`;
    recordRecommendation = false;
  } else if (current < minReplicas) {
    desired = minReplicas;
    limitText = `current ${current} is below min ${minReplicas} → ${minReplicas}`;
    recordRecommendation = false;
  } else {
    const stepScaling = rulesOf(policy).every((rule) => rule.type === 'stepAdjust');
    const stabilized = stepScaling ? rawDesired : stabilize(current, rawDesired, history.recommendations, behavior, now);
    if (stabilized !== rawDesired) {
      const direction = rawDesired > current ? 'scale-up' : 'scale-down';
      const window = rawDesired > current ? behavior.scaleUp.stabilizationWindowSeconds : behavior.scaleDown.stabilizationWindowSeconds;
      limitText = `${direction} stabilized to ${stabilized} by the ${window}s window`;
      if (stabilized === current) limitReason = 'Stabilization';
    }
    const limited = stepScaling ? withinBounds(stabilized, minReplicas, maxReplicas) : limitRate(current, stabilized, minReplicas, maxReplicas, history.events, behavior, now);
    desired = limited.replicas;
    const join = (text: string) => (limitText ? `${limitText}; ${text}` : text);
    switch (limited.condition) {
      case 'ScaleUpLimit':
      case 'ScaleDownLimit': {
        const up = limited.condition === 'ScaleUpLimit';
        const rules = up ? behavior.scaleUp : behavior.scaleDown;
        if (rules.selectPolicy === 'Disabled') {
          limitText = join(`scale-${up ? 'up' : 'down'} disabled (selectPolicy Disabled)`);
          limitReason = 'ScalingDisabled';
        } else {
          limitText = join(`scale-${up ? 'up' : 'down'} limited to ${desired} by policy ${limited.policy ? policyName(limited.policy) : '?'}`);
          limitReason = 'RateLimited';
        }
        break;
      }
      case 'TooManyReplicas':
        limitText = join(`capped at max ${maxReplicas}${maxReplicas < policy.capacity.max ? ' (the ceiling)' : ''}`);
        if (desired === current) limitReason = 'AlreadyAtMax';
        break;
      case 'TooFewReplicas':
        limitText = join(`raised to min ${minReplicas}`);
        if (desired === current) limitReason = 'AlreadyAtMin';
        break;
      case 'DesiredWithinRange':
        break;
    }
  }

  let notScaledReason: NotScaledReason | undefined;
  let action: Decision['action'] = desired > current ? 'scaleOut' : desired < current ? 'scaleIn' : 'none';
  if (action === 'none') {
    notScaledReason = rawDesired === current ? (winner.hold ?? 'AtDesired') : (limitReason ?? 'AtDesired');
  } else if (limitReason === 'RateLimited') {
    notScaledReason = 'RateLimited';
  }

  // 4. Suspend
  let suspendText = '';
  if ((action === 'scaleOut' && policy.suspend.scaleOut) || (action === 'scaleIn' && policy.suspend.scaleIn)) {
    suspendText = `${action === 'scaleOut' ? 'scale-out' : 'scale-in'} to ${desired} suspended → keep ${current}`;
    action = 'none';
    desired = current;
    notScaledReason = 'Suspended';
  }

  let conclusion = suspendText || limitText;
  if (!suspendText && action === 'none' && !limitText) conclusion = `keep ${current}`;
  else if (!suspendText && action !== 'none' && !limitText) conclusion = `${action === 'scaleOut' ? 'scale out' : 'scale in'} ${current} → ${desired}`;
  else if (!suspendText && action !== 'none') conclusion = `${limitText}; ${current} → ${desired}`;
  const reason = sentence([winner.text, ...notes], conclusion);

  const recommendations = recordRecommendation ? [...history.recommendations, { at: now, replicas: rawDesired }] : history.recommendations;
  let next: BehaviorHistory = { ...withReadings(input), recommendations };
  if (action !== 'none') {
    next = {
      ...next,
      events: [...history.events, { at: now, delta: desired - current }],
      ...(action === 'scaleOut' ? { lastScaleOutAt: now } : { lastScaleInAt: now }),
    };
  }
  return {
    action,
    currentReplicas: current,
    rawDesired,
    desiredReplicas: desired,
    ...(notScaledReason ? { notScaledReason } : {}),
    reason,
    history: prune(next, now, retention),
  };
}

/** AWS step scaling's only limit after the rule: the bounds (no window, no rate limit). */
function withinBounds(desired: number, minReplicas: number, maxReplicas: number): RateLimited {
  if (desired > maxReplicas) return { replicas: maxReplicas, condition: 'TooManyReplicas' };
  if (desired < minReplicas) return { replicas: minReplicas, condition: 'TooFewReplicas' };
  return { replicas: desired, condition: 'DesiredWithinRange' };
}

function hold(input: DecisionInput, rawDesired: number | null, notScaledReason: NotScaledReason, reason: string, history: BehaviorHistory): Decision {
  return { action: 'none', currentReplicas: input.currentReplicas, rawDesired, desiredReplicas: input.currentReplicas, notScaledReason, reason, history };
}

function sentence(parts: string[], conclusion: string): string {
  return [...parts, conclusion].filter((p) => p.length > 0).join('; ');
}

/**
 * The history with this evaluation's readings added, for target rules with `scaleDownPeakSeconds`
 * (their next evaluations see them as the recent peak). Bounded: a reading within a minute of the
 * metric's last entry is merged into it (the higher value, the newer time: the peak is kept, never
 * lost early), and entries older than the longest peak window are dropped. Unchanged when no rule
 * uses a peak window; a metric with no datapoint (or only a fallback) adds nothing.
 */
function withReadings(input: DecisionInput): BehaviorHistory {
  const { history, now } = input;
  const windows = new Map<string, number>();
  for (const rule of rulesOf(input.policy)) {
    if (rule.type === 'target' && rule.scaleDownPeakSeconds !== undefined) {
      windows.set(rule.metric, Math.max(windows.get(rule.metric) ?? 0, rule.scaleDownPeakSeconds));
    }
  }
  if (windows.size === 0) return history;
  const readings: Record<string, ReadonlyArray<{ at: number; value: number }>> = {};
  for (const [metric, seconds] of windows) {
    const cutoff = now - seconds * 1000;
    const kept = (history.readings?.[metric] ?? []).filter((r) => r.at > cutoff && r.at <= now);
    const reading = input.metrics[metric];
    if (reading !== undefined && Number.isFinite(reading.value)) {
      const last = kept[kept.length - 1];
      if (last !== undefined && now - last.at < mergeWithinMs) kept[kept.length - 1] = { at: now, value: Math.max(last.value, reading.value) };
      else kept.push({ at: now, value: reading.value });
    }
    if (kept.length > 0) readings[metric] = kept;
  }
  return { ...history, readings };
}

/** Readings closer than this are merged, so a peak window of N seconds keeps at most N/60 + 1 entries. */
const mergeWithinMs = 60_000;

/** How far back the history must reach: the longest stabilization window, rate-limit period or stepAdjust cooldown. */
function retentionMs(input: DecisionInput): { recommendations: number; events: number } {
  const b = input.policy.behavior;
  let events = 0;
  for (const p of [...b.scaleUp.policies, ...b.scaleDown.policies]) events = Math.max(events, p.periodSeconds);
  for (const rule of rulesOf(input.policy)) if (rule.type === 'stepAdjust') events = Math.max(events, rule.cooldownSeconds);
  return {
    recommendations: Math.max(b.scaleUp.stabilizationWindowSeconds, b.scaleDown.stabilizationWindowSeconds) * 1000,
    events: events * 1000,
  };
}

/** Drops entries no window, period or cooldown can see any more (they only count when newer than now - length). */
function prune(history: BehaviorHistory, now: number, keep: { recommendations: number; events: number }): BehaviorHistory {
  const recCutoff = now - keep.recommendations;
  const eventCutoff = now - keep.events;
  const recommendations = history.recommendations.some((r) => r.at <= recCutoff && r.at !== now)
    ? history.recommendations.filter((r) => r.at > recCutoff || r.at === now)
    : history.recommendations;
  const events = history.events.some((e) => e.at <= eventCutoff && e.at !== now)
    ? history.events.filter((e) => e.at > eventCutoff || e.at === now)
    : history.events;
  if (recommendations === history.recommendations && events === history.events) return history;
  return { ...history, recommendations, events };
}
