/**
 * Kubernetes HPA v2 behavior, ported function for function from
 * kubernetes/kubernetes pkg/controller/podautoscaler/horizontal.go:
 * `stabilizeRecommendationWithBehaviors`, `convertDesiredReplicasWithBehaviorRate`,
 * `calculateScaleUpLimitWithScalingRules`, `calculateScaleDownLimitWithBehaviors`,
 * `getReplicasChangePerPeriod`. The HPA keeps recommendations and scale events in memory; here they
 * come in with `BehaviorHistory` so the functions stay pure (no clock: `now` is an argument).
 *
 * The HPA keeps scale-up and scale-down events in two lists of positive changes; we keep one list
 * of signed deltas, so "added in period" sums the positive deltas and "deleted" the negative ones.
 */
import type { Behavior, ScalingPolicy } from '../policy/schema.ts';
import type { BehaviorHistory } from './types.ts';

type ScalingRules = Behavior['scaleUp'];
type Events = BehaviorHistory['events'];
type Recommendations = BehaviorHistory['recommendations'];

/** Human-readable name of a rate-limit policy, e.g. `Pods/4/15s`. */
export function policyName(policy: ScalingPolicy): string {
  return `${policy.type}/${policy.value}/${policy.periodSeconds}s`;
}

/**
 * `getReplicasChangePerPeriod`: the replicas added (direction 'up') or removed ('down') by events
 * strictly newer than `now - periodSeconds` (Go's `timestamp.After(cutoff)`).
 */
export function replicasChangedInPeriod(periodSeconds: number, events: Events, now: number, direction: 'up' | 'down'): number {
  const cutoff = now - periodSeconds * 1000;
  let replicas = 0;
  for (const event of events) {
    if (event.at <= cutoff) continue;
    if (direction === 'up' && event.delta > 0) replicas += event.delta;
    if (direction === 'down' && event.delta < 0) replicas -= event.delta;
  }
  return replicas;
}

/** The replicas there were `periodSeconds` ago: the base kube's rate-limit policies apply to. */
function replicasAtPeriodStart(currentReplicas: number, periodSeconds: number, events: Events, now: number): number {
  const added = replicasChangedInPeriod(periodSeconds, events, now, 'up');
  const deleted = replicasChangedInPeriod(periodSeconds, events, now, 'down');
  return currentReplicas - added + deleted;
}

export interface Limit {
  readonly replicas: number;
  /** The policy that set the limit; undefined when selectPolicy is Disabled. */
  readonly policy?: ScalingPolicy;
}

/** `calculateScaleUpLimitWithScalingRules`. */
export function scaleUpLimit(currentReplicas: number, events: Events, rules: ScalingRules, now: number): Limit {
  if (rules.selectPolicy === 'Disabled') return { replicas: currentReplicas };
  // Scaling up, the smallest change ('Min') is the lowest limit.
  const pick = rules.selectPolicy === 'Min' ? (a: number, b: number) => b < a : (a: number, b: number) => b > a;
  let best: Limit | undefined;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, events, now);
    // Percent rounds up, or a small target could never grow (the HPA's own comment).
    const proposed =
      policy.type === 'Pods' ? periodStartReplicas + policy.value : Math.ceil(periodStartReplicas * (1 + policy.value / 100));
    if (best === undefined || pick(best.replicas, proposed)) best = { replicas: proposed, policy };
  }
  return best!;
}

/** `calculateScaleDownLimitWithBehaviors`. */
export function scaleDownLimit(currentReplicas: number, events: Events, rules: ScalingRules, now: number): Limit {
  if (rules.selectPolicy === 'Disabled') return { replicas: currentReplicas };
  // Scaling down, the smallest change ('Min') is the highest limit.
  const pick = rules.selectPolicy === 'Min' ? (a: number, b: number) => b > a : (a: number, b: number) => b < a;
  let best: Limit | undefined;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, events, now);
    // Go's int32(float64) conversion truncates toward zero.
    const proposed =
      policy.type === 'Pods' ? periodStartReplicas - policy.value : Math.trunc(periodStartReplicas * (1 - policy.value / 100));
    if (best === undefined || pick(best.replicas, proposed)) best = { replicas: proposed, policy };
  }
  return best!;
}

/**
 * `stabilizeRecommendationWithBehaviors`: the current replicas, raised to the lowest recommendation
 * of the scale-up window and lowered to the highest of the scale-down window (both windows include
 * the new recommendation). The caller stores the new recommendation.
 */
export function stabilize(currentReplicas: number, desiredReplicas: number, recommendations: Recommendations, behavior: Behavior, now: number): number {
  const upCutoff = now - behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downCutoff = now - behavior.scaleDown.stabilizationWindowSeconds * 1000;
  let upRecommendation = desiredReplicas;
  let downRecommendation = desiredReplicas;
  for (const rec of recommendations) {
    if (rec.at > upCutoff) upRecommendation = Math.min(rec.replicas, upRecommendation);
    if (rec.at > downCutoff) downRecommendation = Math.max(rec.replicas, downRecommendation);
  }
  let recommendation = currentReplicas;
  if (recommendation < upRecommendation) recommendation = upRecommendation;
  if (recommendation > downRecommendation) recommendation = downRecommendation;
  return recommendation;
}

export type RateLimitCondition = 'ScaleUpLimit' | 'TooManyReplicas' | 'ScaleDownLimit' | 'TooFewReplicas' | 'DesiredWithinRange';

export interface RateLimited {
  readonly replicas: number;
  readonly condition: RateLimitCondition;
  /** The policy that limited the change, for ScaleUpLimit / ScaleDownLimit (none when Disabled). */
  readonly policy?: ScalingPolicy;
}

/** `convertDesiredReplicasWithBehaviorRate`: rate-limit policies, then min/max in the direction of the change. */
export function limitRate(
  currentReplicas: number,
  desiredReplicas: number,
  minReplicas: number,
  maxReplicas: number,
  events: Events,
  behavior: Behavior,
  now: number,
): RateLimited {
  if (desiredReplicas > currentReplicas) {
    const limit = scaleUpLimit(currentReplicas, events, behavior.scaleUp, now);
    // Not below current: wait for old events to leave the period instead.
    const upLimit = Math.max(limit.replicas, currentReplicas);
    const limitedByRate = maxReplicas > upLimit;
    const maximumAllowed = limitedByRate ? upLimit : maxReplicas;
    if (desiredReplicas > maximumAllowed) {
      return limitedByRate
        ? { replicas: maximumAllowed, condition: 'ScaleUpLimit', ...(limit.policy ? { policy: limit.policy } : {}) }
        : { replicas: maximumAllowed, condition: 'TooManyReplicas' };
    }
  } else if (desiredReplicas < currentReplicas) {
    const limit = scaleDownLimit(currentReplicas, events, behavior.scaleDown, now);
    const downLimit = Math.min(limit.replicas, currentReplicas);
    const limitedByRate = minReplicas < downLimit;
    const minimumAllowed = limitedByRate ? downLimit : minReplicas;
    if (desiredReplicas < minimumAllowed) {
      return limitedByRate
        ? { replicas: minimumAllowed, condition: 'ScaleDownLimit', ...(limit.policy ? { policy: limit.policy } : {}) }
        : { replicas: minimumAllowed, condition: 'TooFewReplicas' };
    }
  }
  return { replicas: desiredReplicas, condition: 'DesiredWithinRange' };
}
