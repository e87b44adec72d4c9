/**
 * HPA behavior, ported from kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go:
 * TestConvertDesiredReplicasWithRules / TestConvertDesiredReplicasWithBehaviorRate (rate-limit table)
 * and TestNormalizeDesiredReplicasWithBehavior (stabilization table). Times are relative to NOW.
 */
import { describe, expect, it } from 'vitest';
import { limitRate, stabilize } from '../../shared/engine/behavior.ts';
import type { BehaviorHistory } from '../../shared/engine/types.ts';
import { Behavior } from '../../shared/policy/schema.ts';
import { NOW, scalingRules, seconds, uniformEvents } from './policies.ts';

interface RateCase {
  name: string;
  up?: number[];
  down?: number[];
  upRules?: ReturnType<typeof scalingRules>;
  downRules?: ReturnType<typeof scalingRules>;
  min: number;
  max: number;
  current: number;
  desired: number;
  expected: number;
  condition: string;
}

// Each row is a row of horizontal_test.go TestConvertDesiredReplicasWithBehaviorRate, same name and numbers.
const rateCases: RateCase[] = [
  { name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit', min: 1, max: 10, current: 20, desired: 1000, expected: 10, condition: 'TooManyReplicas' },
  { name: 'desired replica count is more than the maximum replica count', min: 100, max: 150, current: 100, desired: 1000, expected: 150, condition: 'TooManyReplicas' },
  { name: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies', upRules: scalingRules(0, 0, 1, 60, 0), min: 1, max: 2000, current: 3, desired: 1000, expected: 4, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with default behavior', min: 1, max: 1000, current: 10, desired: 50, expected: 20, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with pods policy larger than percent policy', upRules: scalingRules(100, 60, 100, 60, 0), min: 1, max: 1000, current: 10, desired: 500, expected: 110, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with percent policy larger than pods policy', upRules: scalingRules(2, 60, 100, 60, 0), min: 1, max: 1000, current: 10, desired: 500, expected: 20, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with spec MaxReplicas limitation with large pod policy', upRules: scalingRules(100, 60, 0, 0, 0), min: 1, max: 1000, current: 10, desired: 50, expected: 50, condition: 'DesiredWithinRange' },
  { name: 'scaleUp with pod policy limitation', upRules: scalingRules(30, 60, 0, 0, 0), min: 1, max: 1000, current: 10, desired: 50, expected: 40, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with percent policy limitation', upRules: scalingRules(0, 0, 200, 60, 0), min: 1, max: 1000, current: 10, desired: 50, expected: 30, condition: 'ScaleUpLimit' },
  { name: 'scaleDown with percent policy larger than pod policy', downRules: scalingRules(20, 60, 1, 60, 300), min: 1, max: 1000, current: 100, desired: 2, expected: 80, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with pod policy larger than percent policy', downRules: scalingRules(2, 60, 1, 60, 300), min: 1, max: 1000, current: 100, desired: 2, expected: 98, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with spec MinReplicas limitation with large percent policy', downRules: scalingRules(0, 0, 100, 60, 300), min: 5, max: 1000, current: 10, desired: 2, expected: 5, condition: 'TooFewReplicas' },
  { name: 'scaleDown with pod policy limitation', downRules: scalingRules(5, 60, 0, 0, 300), min: 1, max: 1000, current: 10, desired: 2, expected: 5, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with percent policy limitation', downRules: scalingRules(0, 0, 50, 60, 300), min: 1, max: 1000, current: 10, desired: 5, expected: 5, condition: 'DesiredWithinRange' },
  { name: 'scaleUp with spec MaxReplicas limitation with large pod policy and events', up: [1, 5, 9], upRules: scalingRules(300, 60, 0, 0, 0), min: 1, max: 200, current: 100, desired: 500, expected: 200, condition: 'TooManyReplicas' },
  { name: 'scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events', up: [1, 5, 9], upRules: scalingRules(5, 120, 0, 0, 0), min: 1, max: 1000, current: 100, desired: 500, expected: 100, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with pod policy and previous scale up events', up: [1, 5, 9], upRules: scalingRules(150, 120, 0, 0, 0), min: 1, max: 1000, current: 100, desired: 500, expected: 235, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with percent policy and previous scale up events', up: [1, 5, 9], upRules: scalingRules(0, 0, 200, 120, 0), min: 1, max: 1000, current: 100, desired: 500, expected: 255, condition: 'ScaleUpLimit' },
  { name: 'scaleUp with percent policy and previous scale up and down events', up: [4], down: [2], upRules: scalingRules(0, 0, 300, 300, 0), min: 1, max: 1000, current: 6, desired: 24, expected: 16, condition: 'ScaleUpLimit' },
  { name: 'scaleDown with default policy and previous events', down: [1, 5, 9], min: 1, max: 1000, current: 10, desired: 5, expected: 5, condition: 'DesiredWithinRange' },
  { name: 'scaleDown with spec MinReplicas limitation with large pod policy and previous events', down: [1, 5, 9], downRules: scalingRules(130, 120, 0, 0, 300), min: 5, max: 1000, current: 100, desired: 0, expected: 5, condition: 'TooFewReplicas' },
  { name: 'scaleDown with pod policy limitation and previous events', down: [1, 5, 9], downRules: scalingRules(5, 120, 0, 0, 300), min: 1, max: 1000, current: 100, desired: 2, expected: 100, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with percent policy limitation and previous events', down: [2, 4, 6], downRules: scalingRules(0, 0, 50, 120, 300), min: 1, max: 1000, current: 100, desired: 0, expected: 56, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with percent policy and previous scale up and down events', up: [2], down: [4], downRules: scalingRules(0, 0, 50, 180, 0), min: 1, max: 1000, current: 10, desired: 1, expected: 6, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with previous events preventing further scale down', down: [10, 10, 10], downRules: scalingRules(0, 0, 10, 120, 300), min: 1, max: 1000, current: 100, desired: 0, expected: 100, condition: 'ScaleDownLimit' },
  { name: 'scaleDown with with previous events still allowing more scale down', down: [10, 10, 10], downRules: scalingRules(0, 0, 1000, 120, 300), min: 1, max: 1000, current: 10, desired: 5, expected: 5, condition: 'DesiredWithinRange' },
  { name: "check that events were marked 'outdated' for two different policies in the behavior for up", up: [8, 12, 9, 11], upRules: scalingRules(1000, 30, 100, 60, 0), min: 1, max: 1000, current: 100, desired: 200, expected: 200, condition: 'DesiredWithinRange' },
];

function events(c: { up?: number[]; down?: number[] }): BehaviorHistory['events'] {
  return [...uniformEvents(c.up ?? [], 120, 1), ...uniformEvents(c.down ?? [], 120, -1)].sort((a, b) => a.at - b.at);
}

describe('rate-limit policies (kubernetes horizontal_test.go TestConvertDesiredReplicasWithBehaviorRate)', () => {
  it.each(rateCases)('$name → $expected ($condition)', (c) => {
    // Prepare
    const behavior = Behavior.parse({ ...(c.upRules ? { scaleUp: c.upRules } : {}), ...(c.downRules ? { scaleDown: c.downRules } : {}) });

    // Act
    const limited = limitRate(c.current, c.desired, c.min, c.max, events(c), behavior, NOW);

    // Assess
    expect(limited.replicas).toBe(c.expected);
    expect(limited.condition).toBe(c.condition);
  });

  it('selectPolicy Disabled keeps the current replicas in that direction only', () => {
    // Prepare: horizontal.go calculateScaleUpLimitWithScalingRules returns currentReplicas when Disabled
    const behavior = Behavior.parse({ scaleUp: { selectPolicy: 'Disabled' } });

    // Act
    const up = limitRate(10, 50, 1, 1000, [], behavior, NOW);
    const down = limitRate(10, 5, 1, 1000, [], behavior, NOW);

    // Assess
    expect(up.replicas).toBe(10);
    expect(down.replicas).toBe(5);
  });

  it('selectPolicy Min picks the smallest change of the policies', () => {
    // Prepare: same policies as "scaleUp with pods policy larger than percent policy", with Min
    const behavior = Behavior.parse({ scaleUp: { ...scalingRules(100, 60, 100, 60, 0), selectPolicy: 'Min' } });

    // Act
    const limited = limitRate(10, 500, 1, 1000, [], behavior, NOW);

    // Assess: Pods gives 110, Percent gives 20; Min takes 20
    expect(limited.replicas).toBe(20);
    expect(limited.policy?.type).toBe('Percent');
  });

  it('an event exactly periodSeconds old no longer counts (Go: timestamp.After(cutoff))', () => {
    // Prepare
    const behavior = Behavior.parse({ scaleUp: scalingRules(4, 60, 0, 0, 0) });
    const atEdge = [{ at: NOW - seconds(60), delta: 4 }];
    const inside = [{ at: NOW - seconds(59), delta: 4 }];

    // Act
    const edge = limitRate(8, 100, 1, 1000, atEdge, behavior, NOW);
    const within = limitRate(8, 100, 1, 1000, inside, behavior, NOW);

    // Assess
    expect(edge.replicas).toBe(12);
    expect(within.replicas).toBe(8);
  });
});

interface StabilizeCase {
  name: string;
  recommendations: Array<[number, number]>; // [replicas, minutes ago]
  current: number;
  desired: number;
  expected: number;
  upWindow?: number;
  downWindow?: number;
}

// horizontal_test.go TestNormalizeDesiredReplicasWithBehavior (windows default to 0 there, as the test builds the rules by hand).
const stabilizeCases: StabilizeCase[] = [
  { name: 'empty recommendations for scaling down', recommendations: [], current: 100, desired: 5, expected: 5 },
  { name: 'simple scale down stabilization', recommendations: [[4, 2], [5, 1]], current: 100, desired: 3, expected: 5, downWindow: 180 },
  { name: 'simple scale up stabilization', recommendations: [[4, 2], [5, 1]], current: 1, desired: 7, expected: 4, upWindow: 300 },
  { name: 'no scale down stabilization', recommendations: [[1, 2], [2, 1]], current: 100, desired: 3, expected: 3, upWindow: 300 },
  { name: 'no scale up stabilization', recommendations: [[4, 2], [5, 1]], current: 1, desired: 3, expected: 3, downWindow: 300 },
  { name: 'scale down stabilization, reuse one of obsolete recommendation element', recommendations: [[10, 10], [4, 1], [5, 2], [9, 9]], current: 100, desired: 3, expected: 5, downWindow: 180 },
  { name: 'scale up stabilization, reuse one of obsolete recommendation element', recommendations: [[10, 100], [6, 1], [5, 2], [9, 3]], current: 1, desired: 100, expected: 5, upWindow: 300 },
  { name: 'scale up and down stabilization, do not scale up when prenormalized rec goes down', recommendations: [[2, 100], [3, 3]], current: 2, desired: 1, expected: 2, upWindow: 300, downWindow: 300 },
  { name: 'scale up and down stabilization, do not scale down when prenormalized rec goes up', recommendations: [[2, 100], [1, 3]], current: 2, desired: 3, expected: 2, upWindow: 300, downWindow: 300 },
];

describe('stabilization windows (kubernetes horizontal_test.go TestNormalizeDesiredReplicasWithBehavior)', () => {
  it.each(stabilizeCases)('$name → $expected', (c) => {
    // Prepare
    const behavior = Behavior.parse({ scaleUp: { stabilizationWindowSeconds: c.upWindow ?? 0 }, scaleDown: { stabilizationWindowSeconds: c.downWindow ?? 0 } });
    const recommendations = c.recommendations.map(([replicas, minutesAgo]) => ({ at: NOW - seconds(60 * minutesAgo), replicas }));

    // Act
    const stabilized = stabilize(c.current, c.desired, recommendations, behavior, NOW);

    // Assess
    expect(stabilized).toBe(c.expected);
  });
});
