/** Policies and inputs for the engine tests: a valid policy with only the parts a test cares about changed. */
import { emptyHistory, type BehaviorHistory, type DecisionInput, type MetricReading } from '../../shared/engine/types.ts';
import { Policy, type PolicyInput } from '../../shared/policy/schema.ts';

export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
export const seconds = (s: number) => s * 1000;

export function policy(overrides: Partial<PolicyInput> = {}): Policy {
  return Policy.parse({
    id: 'test',
    target: { type: 'kubernetes', cluster: 'prod', namespace: 'web', kind: 'Deployment', name: 'web' },
    capacity: { min: 1, max: 100 },
    metrics: [
      { id: 'queue', source: 'redis', endpoint: 'cache-1', list: 'jobs' },
      { id: 'conns', source: 'haproxy', endpoint: 'lb-1', backend: 'web', field: 'scur' },
    ],
    rule: { type: 'target', metric: 'conns', perReplica: 50 },
    ...overrides,
  });
}

export function reading(value: number): MetricReading {
  return { value, timestamp: NOW - seconds(30) };
}

export function input(p: Policy, currentReplicas: number, metrics: Record<string, number | undefined>, extra: Partial<DecisionInput> = {}): DecisionInput {
  const readings: Record<string, MetricReading | undefined> = {};
  for (const [id, value] of Object.entries(metrics)) readings[id] = value === undefined ? undefined : reading(value);
  return { policy: p, currentReplicas, metrics: readings, now: NOW, history: emptyHistory, ceiling: 10_000, ...extra };
}

/** kubernetes horizontal_test.go generateEventsUniformDistribution: events at the middle of equal segments of the period, oldest first. */
export function uniformEvents(changes: number[], periodSeconds: number, sign: 1 | -1): BehaviorHistory['events'] {
  const segment = periodSeconds / changes.length;
  return changes.map((change, i) => ({ at: NOW - seconds(periodSeconds - segment * i - segment / 2), delta: sign * change }));
}

/** kubernetes horizontal_test.go generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow). */
export function scalingRules(pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number) {
  const policies: Array<{ type: 'Pods' | 'Percent'; value: number; periodSeconds: number }> = [];
  if (pods !== 0) policies.push({ type: 'Pods', value: pods, periodSeconds: podsPeriod });
  if (percent !== 0) policies.push({ type: 'Percent', value: percent, periodSeconds: percentPeriod });
  return { stabilizationWindowSeconds: window, selectPolicy: 'Max' as const, ...(policies.length > 0 ? { policies } : {}) };
}
