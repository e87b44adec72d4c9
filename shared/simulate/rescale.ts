/**
 * Policies carry thresholds in the units of their metric. To replay one policy on traces whose
 * replicas serve different loads (NASA: 25 requests/min, Twitter: 1,000), multiply every quantity
 * measured in the metric's units by the same factor: steps thresholds, target perReplica,
 * stepAdjust threshold and bounds,
 * onMissingMetric's value. Replica counts are left as they are.
 */
import type { Policy, Rule } from '../policy/schema.ts';

export function rescalePolicy(policy: Policy, factor: number): Policy {
  if (!(Number.isFinite(factor) && factor > 0)) throw new RangeError(`factor must be a number > 0, got ${factor}`);
  const rescale = (rule: Rule): Rule => {
    switch (rule.type) {
      case 'steps':
        return { ...rule, steps: rule.steps.map(([threshold, replicas]) => [threshold * factor, replicas] as [number, number]) };
      case 'target':
      case 'envelope':
        return { ...rule, perReplica: rule.perReplica * factor };
      case 'stepAdjust':
        return {
          ...rule,
          threshold: rule.threshold === undefined ? undefined : rule.threshold * factor,
          adjustments: rule.adjustments.map((a) => ({
            ...a,
            lower: a.lower === undefined ? undefined : a.lower * factor,
            upper: a.upper === undefined ? undefined : a.upper * factor,
          })),
        };
    }
  };
  const onMissingMetric = policy.onMissingMetric === 'hold' ? 'hold' : { value: policy.onMissingMetric.value * factor };
  return { ...policy, onMissingMetric, rule: Array.isArray(policy.rule) ? policy.rule.map(rescale) : rescale(policy.rule) };
}
