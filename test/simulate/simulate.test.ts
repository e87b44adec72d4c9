import { describe, expect, it } from 'vitest';
import { Policy, type PolicyInput } from '../../shared/policy/schema.ts';
import { hpaBaseline } from '../../shared/simulate/baseline.ts';
import { rescalePolicy } from '../../shared/simulate/rescale.ts';
import { simulate } from '../../shared/simulate/simulate.ts';

const unlimited = { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods' as const, value: 1000, periodSeconds: 60 }] };

/** A steps policy that asks for 1 replica below 100 requests and 10 from 100 on, applied at once. */
function stepsPolicy(overrides: Partial<PolicyInput> = {}): Policy {
  return Policy.parse({
    id: 'steps',
    target: { type: 'kubernetes', cluster: 'c', namespace: 'web', kind: 'Deployment', name: 'web' },
    capacity: { min: 1, max: 20 },
    metrics: [{ id: 'requests', source: 'cloudwatch', namespace: 'App', name: 'Requests' }],
    rule: { type: 'steps', metric: 'requests', steps: '0=1 100=10' },
    behavior: { scaleUp: unlimited, scaleDown: unlimited },
    ...overrides,
  });
}

/** demand 10 for minutes 0..4, then 100 for minutes 5..9 */
const step = [10, 10, 10, 10, 10, 100, 100, 100, 100, 100];

describe('simulate (the DESIGN.md model, on the production decide)', () => {
  it('a step from 10 to 100 with C = 10, startup 1: minutes 5 and 6 are under-provisioned', () => {
    // Prepare: minute 5 decides on minute 4's demand (10) -> 1 replica, serving 10 < 100;
    // minute 6 sees 100 -> 10 replicas, which serve from minute 7; so minute 6 is short too.

    // Act
    const result = simulate(stepsPolicy(), step, { perReplica: 10, startupMinutes: 1, keepSeries: true });

    // Assess
    expect([...result.series!.replicas]).toEqual([1, 1, 1, 1, 1, 1, 10, 10, 10, 10]);
    expect([...result.series!.serving]).toEqual([1, 1, 1, 1, 1, 1, 1, 10, 10, 10]);
    expect({ ...result, series: undefined }).toEqual({
      minutes: 10,
      underProvisionedMinutes: 2,
      replicaMinutes: 6 * 1 + 4 * 10,
      actions: 1,
      peakReplicas: 10,
      series: undefined,
    });
  });

  it('startup 3 keeps new replicas out of service for three minutes; startup 0 serves at once', () => {
    // Act
    const slow = simulate(stepsPolicy(), step, { perReplica: 10, startupMinutes: 3 });
    const instant = simulate(stepsPolicy(), step, { perReplica: 10, startupMinutes: 0 });

    // Assess: short at 5,6,7,8 (ready at 9) versus only minute 5
    expect(slow.underProvisionedMinutes).toBe(4);
    expect(instant.underProvisionedMinutes).toBe(1);
    expect(slow.replicaMinutes).toBe(46);
    expect(instant.replicaMinutes).toBe(46);
  });

  it('removal is immediate and takes replicas that are not serving yet first', () => {
    // Prepare: a one-minute spike. Minute 3 sees it and adds 9 replicas (ready at minute 6);
    // minute 4 sees 10 again and removes 9: the starting ones, so serving never changes.
    const spike = [10, 10, 100, 10, 10, 10, 10];

    // Act
    const result = simulate(stepsPolicy(), spike, { perReplica: 10, startupMinutes: 3, keepSeries: true });

    // Assess
    expect([...result.series!.replicas]).toEqual([1, 1, 1, 10, 1, 1, 1]);
    expect([...result.series!.serving]).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(result.underProvisionedMinutes).toBe(1);
    expect(result.actions).toBe(2);
    expect(result.replicaMinutes).toBe(6 + 10);
  });

  it('removal of more replicas than are starting removes serving ones too', () => {
    // Prepare: 100 for a while (10 serving), then 10: back to 1 replica at once.
    const down = [100, 100, 100, 10, 10, 10];

    // Act
    const result = simulate(stepsPolicy(), down, { perReplica: 10, startupMinutes: 1, initialReplicas: 10, keepSeries: true });

    // Assess: minute 0 has no earlier minute (hold at 10); minute 4 sees minute 3's 10 -> 1
    expect([...result.series!.replicas]).toEqual([10, 10, 10, 10, 1, 1]);
    expect([...result.series!.serving]).toEqual([10, 10, 10, 10, 1, 1]);
    expect(result.underProvisionedMinutes).toBe(0);
  });

  it('the HPA baseline: target 70% of C, HPA default rate limits (+max(4 pods, 100%) per 15 s)', () => {
    // Prepare: C = 10, so the target is 7 per replica.
    //   minute 1 sees 10: ceil(10/7) = 2 (ready at 2); minutes 2-5: usage 10/2/7 = 0.71, desired stays 2
    //   minute 5: demand 100 > 20, short.  minute 6 sees 100: wants 15, limited to max(2+4, 2*2) = 6, short (2 serving)
    //   minute 7: limited to max(6+4, 12) = 12, short (6 serving).  minute 8: 15 (12 serving: 120 >= 100)
    const baseline = hpaBaseline(10);

    // Act
    const result = simulate(baseline, step, { perReplica: 10, startupMinutes: 1, keepSeries: true });

    // Assess
    expect([...result.series!.replicas]).toEqual([1, 2, 2, 2, 2, 2, 6, 12, 15, 15]);
    expect(result.underProvisionedMinutes).toBe(3);
    expect(result.replicaMinutes).toBe(1 + 2 * 5 + 6 + 12 + 15 + 15);
    expect(result.actions).toBe(4);
    expect(result.peakReplicas).toBe(15);
    expect(baseline.capacity).toEqual({ min: 1, max: 1000 });
  });

  it('a window replays only [from, to), and its first minute sees the minute before it', () => {
    // Act: minutes 5..9; minute 5 sees minute 4 (10) -> 1 replica; minute 6 sees 100 -> 10 (serving from 7).
    const result = simulate(stepsPolicy(), step, { perReplica: 10, from: 5, to: 10 });

    // Assess
    expect(result).toEqual({ minutes: 5, underProvisionedMinutes: 2, replicaMinutes: 1 + 4 * 10, actions: 1, peakReplicas: 10 });
  });

  it('a policy that is not enabled yet is simulated as enabled', () => {
    // Act
    const result = simulate(stepsPolicy({ enabled: false }), step, { perReplica: 10 });

    // Assess
    expect(result.underProvisionedMinutes).toBe(2);
    expect(result.peakReplicas).toBe(10);
  });

  it('the ceiling caps what decide may ask for', () => {
    // Act
    const result = simulate(stepsPolicy(), step, { perReplica: 10, ceiling: 4 });

    // Assess
    expect(result.peakReplicas).toBe(4);
    expect(result.underProvisionedMinutes).toBe(5);
  });

  it('refuses an alarm-only stepAdjust policy and bad options, naming them', () => {
    // Prepare
    const alarmOnly = stepsPolicy({ alarms: ['high'], rule: { type: 'stepAdjust', adjustments: [{ lower: 0, adjustment: 1 }] } });

    // Act / Assess
    expect(() => simulate(alarmOnly, step, { perReplica: 10 })).toThrow('rule 0 is a stepAdjust rule driven only by alarms');
    expect(() => simulate(stepsPolicy(), step, { perReplica: 0 })).toThrow('perReplica must be a number > 0, got 0');
    expect(() => simulate(stepsPolicy(), step, { perReplica: 10, from: 8, to: 20 })).toThrow('window [8, 20)');
  });

  it('rescalePolicy multiplies thresholds in metric units, not replica counts', () => {
    // Act
    const scaled = rescalePolicy(stepsPolicy(), 0.5);
    const result = simulate(scaled, [10, 10, 50, 50, 50], { perReplica: 5 });

    // Assess
    expect(scaled.rule).toMatchObject({ steps: [[0, 1], [50, 10]] });
    expect(result.peakReplicas).toBe(10);
  });
});
