/**
 * stepAdjust rules: AWS step scaling. Examples are the ones AWS documents:
 * - Amazon EC2 Auto Scaling user guide, "Step and simple scaling policies" → "Step adjustments":
 *   threshold 50; scale-out [0,10) 0, [10,20) +10%, [20,∞) +30%; scale-in (-10,0] 0, (-20,-10] -10%, (-∞,-20] -30%;
 *   10 → 11 → 14 → 13 → 10 as the metric goes 60, 70, 40, 30.
 * - Application Auto Scaling API reference, StepScalingPolicyConfiguration: Cooldown (+2 then, in the
 *   cooldown, a step of +3 adds only 1), MinAdjustmentMagnitude (25% of 4 tasks with magnitude 2 → +2),
 *   and the PercentChangeInCapacity rounding (12.7 → 12, 0.67 → 1, -6.67 → -6, -0.67 → -1).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../shared/engine/decide.ts';
import { roundAwsPercentChange } from '../../shared/engine/rules.ts';
import type { AlarmContext } from '../../shared/engine/types.ts';
import type { PolicyInput } from '../../shared/policy/schema.ts';
import { NOW, input, policy, seconds } from './policies.ts';

// No HPA windows or rate limits in the way: these tests are about the AWS rule alone.
const open = {
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent' as const, value: 1000, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent' as const, value: 100, periodSeconds: 15 }] },
};

const awsExampleSteps = [
  { lower: 0, upper: 10, adjustment: 0 },
  { lower: 10, upper: 20, adjustment: 10 },
  { lower: 20, adjustment: 30 },
  { lower: -10, upper: 0, adjustment: 0 },
  { lower: -20, upper: -10, adjustment: -10 },
  { upper: -20, adjustment: -30 },
];

function stepPolicy(rule: Record<string, unknown>, extra: Partial<PolicyInput> = {}) {
  return policy({
    capacity: { min: 0, max: 100 },
    alarms: ['cpu-high'],
    rule: { type: 'stepAdjust', cooldownSeconds: 0, ...rule } as PolicyInput['rule'],
    behavior: open,
    ...extra,
  });
}

const alarm = (value: number, state: AlarmContext['state'] = 'ALARM', threshold = 50): AlarmContext => ({ name: 'cpu-high', state, threshold, value });

describe('AWS step adjustments (EC2 Auto Scaling user guide example, threshold 50, PercentChangeInCapacity)', () => {
  const p = stepPolicy({ adjustmentType: 'PercentChangeInCapacity', adjustments: awsExampleSteps });

  it.each([
    // [metric, capacity before, capacity after, what the guide says]
    [45, 10, 10, 'between 40 and 60 the group keeps its capacity'],
    [60, 10, 11, 'add 10 percent of 10 instances'],
    [70, 11, 14, 'add 30 percent of 11 instances, 3.3 rounded down to 3'],
    [40, 14, 13, 'remove 10 percent of 14 instances, 1.4 rounded down to 1'],
    [30, 13, 10, 'remove 30 percent of 13 instances, 3.9 rounded down to 3'],
  ])('metric %d with %d instances → %d (%s)', (metric, before, after) => {
    // Act
    const decision = decide(input(p, before, {}, { alarm: alarm(metric) }));

    // Assess
    expect(decision.desiredReplicas).toBe(after);
  });

  it('breach exactly on a bound: above the threshold the lower bound is inclusive (60 → +10%)', () => {
    // Act
    const atTen = decide(input(p, 20, {}, { alarm: alarm(60) }));
    const atTwenty = decide(input(p, 20, {}, { alarm: alarm(70) }));

    // Assess: 10% of 20 = 2; 30% of 20 = 6
    expect(atTen.desiredReplicas).toBe(22);
    expect(atTwenty.desiredReplicas).toBe(26);
  });

  it('breach exactly on a bound: below the threshold the upper bound is inclusive (40 → -10%, not 0)', () => {
    // Act
    const decision = decide(input(p, 20, {}, { alarm: alarm(40) }));

    // Assess
    expect(decision.desiredReplicas).toBe(18);
  });
});

describe('adjustment types and rounding (Application Auto Scaling StepScalingPolicyConfiguration)', () => {
  it.each([
    [12.7, 12],
    [0.67, 1],
    [-6.67, -6],
    [-0.67, -1],
    [1, 1],
    [0, 0],
  ])('PercentChangeInCapacity change %d rounds to %d', (raw, rounded) => {
    // Act / Assess
    expect(roundAwsPercentChange(raw)).toBe(rounded);
  });

  it('MinAdjustmentMagnitude: 25% of 4 tasks is 1, magnitude 2 → +2', () => {
    // Prepare
    const p = stepPolicy({ adjustmentType: 'PercentChangeInCapacity', minAdjustmentMagnitude: 2, adjustments: [{ lower: 0, adjustment: 25 }] });

    // Act
    const decision = decide(input(p, 4, {}, { alarm: alarm(60) }));

    // Assess
    expect(decision.desiredReplicas).toBe(6);
  });

  it('with the default behavior, step scaling is not rate-limited or stabilized as the HPA is: ExactCapacity 20 from 2 goes to 20, and down at once', () => {
    // Prepare: no behavior given, so the schema fills the HPA defaults (+4 pods / 15 s up, 300 s window down).
    const p = policy({ capacity: { min: 1, max: 50 }, alarms: ['cpu-high'], rule: { type: 'stepAdjust', cooldownSeconds: 0, adjustmentType: 'ExactCapacity', adjustments: [{ lower: 0, adjustment: 20 }, { upper: 0, adjustment: 2 }] } });
    // Act
    const up = decide(input(p, 2, {}, { alarm: alarm(60) }));
    const down = decide(input(p, 20, {}, { alarm: alarm(40, 'OK'), history: up.history, now: NOW + seconds(60) }));
    // Assess
    expect(up).toMatchObject({ action: 'scaleOut', rawDesired: 20, desiredReplicas: 20 });
    expect(down).toMatchObject({ action: 'scaleIn', rawDesired: 2, desiredReplicas: 2 });
  });

  it('ChangeInCapacity adds, ExactCapacity sets', () => {
    // Prepare
    const change = stepPolicy({ adjustmentType: 'ChangeInCapacity', adjustments: [{ lower: 0, adjustment: 3 }] });
    const exact = stepPolicy({ adjustmentType: 'ExactCapacity', adjustments: [{ lower: 0, adjustment: 3 }] });

    // Act
    const a = decide(input(change, 5, {}, { alarm: alarm(55) }));
    const b = decide(input(exact, 5, {}, { alarm: alarm(55) }));

    // Assess
    expect(a.desiredReplicas).toBe(8);
    expect(b.desiredReplicas).toBe(3);
  });

  it('without an alarm, uses the rule’s own metric and threshold', () => {
    // Prepare
    const p = stepPolicy({ metric: 'queue', threshold: 1000, adjustments: [{ lower: 0, upper: 500, adjustment: 1 }, { lower: 500, adjustment: 4 }] });

    // Act
    const small = decide(input(p, 2, { queue: 1200 }));
    const large = decide(input(p, 2, { queue: 1600 }));
    const missing = decide(input(p, 2, {}));

    // Assess
    expect(small.desiredReplicas).toBe(3);
    expect(large.desiredReplicas).toBe(6);
    expect(missing.notScaledReason).toBe('MissingMetric');
  });

  it('an alarm-only rule on a schedule tick does nothing', () => {
    // Prepare
    const p = stepPolicy({ adjustments: [{ lower: 0, adjustment: 1 }] });

    // Act
    const decision = decide(input(p, 2, {}));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.reason).toContain('waits for its alarm');
  });
});

describe('alarm states and cooldowns', () => {
  const p = stepPolicy({ adjustments: [{ lower: 0, upper: 20, adjustment: 2 }, { lower: 20, adjustment: 3 }, { upper: 0, adjustment: -1 }], cooldownSeconds: 300 });

  it('Application Auto Scaling Cooldown example: +2, then in the cooldown a step of +3 adds only 1', () => {
    // Prepare
    const first = decide(input(p, 4, {}, { alarm: alarm(55) }));

    // Act
    const second = decide(input(p, 6, {}, { alarm: alarm(75), now: NOW + seconds(60), history: first.history }));

    // Assess
    expect(first.desiredReplicas).toBe(6);
    expect(second.desiredReplicas).toBe(7);
  });

  it('in the scale-out cooldown, the same step again adds nothing (Cooldown)', () => {
    // Prepare
    const first = decide(input(p, 4, {}, { alarm: alarm(55) }));

    // Act
    const second = decide(input(p, 6, {}, { alarm: alarm(55), now: NOW + seconds(60), history: first.history }));
    const afterCooldown = decide(input(p, 6, {}, { alarm: alarm(55), now: NOW + seconds(300), history: first.history }));

    // Assess
    expect(second.action).toBe('none');
    expect(second.notScaledReason).toBe('Cooldown');
    expect(afterCooldown.desiredReplicas).toBe(8);
  });

  it('no scale-in during a scale-out cooldown', () => {
    // Prepare
    const first = decide(input(p, 4, {}, { alarm: alarm(55) }));

    // Act
    const scaleIn = decide(input(p, 6, {}, { alarm: alarm(40, 'ALARM'), now: NOW + seconds(60), history: first.history }));

    // Assess
    expect(scaleIn.action).toBe('none');
    expect(scaleIn.notScaledReason).toBe('Cooldown');
  });

  it('a scale-out during a scale-in cooldown goes ahead at once', () => {
    // Prepare
    const first = decide(input(p, 6, {}, { alarm: alarm(40) }));

    // Act
    const out = decide(input(p, 5, {}, { alarm: alarm(55), now: NOW + seconds(30), history: first.history }));

    // Assess
    expect(first.desiredReplicas).toBe(5);
    expect(out.desiredReplicas).toBe(7);
  });

  it('alarm OK: considers scale-in only', () => {
    // Act
    const wouldGrow = decide(input(p, 4, {}, { alarm: alarm(55, 'OK') }));
    const shrinks = decide(input(p, 4, {}, { alarm: alarm(40, 'OK') }));

    // Assess
    expect(wouldGrow.action).toBe('none');
    expect(shrinks.desiredReplicas).toBe(3);
  });

  it('alarm INSUFFICIENT_DATA → none, AlarmInsufficientData', () => {
    // Act
    const decision = decide(input(p, 4, {}, { alarm: alarm(99, 'INSUFFICIENT_DATA') }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('AlarmInsufficientData');
  });

  it('keeps scale events for the whole cooldown even when the HPA periods are shorter', () => {
    // Prepare
    const first = decide(input(p, 4, {}, { alarm: alarm(55) }));

    // Act
    const later = decide(input(p, 6, {}, { alarm: alarm(55), now: NOW + seconds(200), history: first.history }));

    // Assess
    expect(later.history.events).toEqual([{ at: NOW, delta: 2 }]);
  });
});
