/**
 * rule.scaleDownPeakSeconds: a target rule scales in on the highest reading of a recent window
 * (kept in BehaviorHistory.readings), in one step, and only when that peak is outside the
 * scale-down tolerance. Everything here must use only readings already seen.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../shared/engine/decide.ts';
import { emptyHistory, type BehaviorHistory, type Decision } from '../../shared/engine/types.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { NOW, input, policy, seconds } from './policies.ts';

const minute = seconds(60);
// No HPA window and no rate limit: the peak alone decides scale-in. Scale-down tolerance 0.4.
const peakPolicy = (overrides: { scaleDownPeakSeconds?: number; onMissingMetric?: { value: number } } = {}) =>
  policy({
    rule: { type: 'target', metric: 'conns', perReplica: 50, scaleDownPeakSeconds: overrides.scaleDownPeakSeconds ?? 600 },
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 1000, periodSeconds: 60 }] },
      scaleDown: { stabilizationWindowSeconds: 0, tolerance: 0.4, policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }] },
    },
    ...(overrides.onMissingMetric ? { onMissingMetric: overrides.onMissingMetric } : {}),
  });
const withReadings = (values: Array<[minutesAgo: number, value: number]>): BehaviorHistory => ({
  ...emptyHistory,
  readings: { conns: values.map(([ago, value]) => ({ at: NOW - ago * minute, value })) },
});

/** Replays one reading a minute through decide, carrying history and replicas as the caller does. */
function replay(p: Policy, values: number[], start: number): Decision[] {
  let history: BehaviorHistory = emptyHistory;
  let current = start;
  return values.map((value, i) => {
    const decision = decide(input(p, current, { conns: value }, { now: NOW + i * minute, history }));
    history = decision.history;
    current = decision.desiredReplicas;
    return decision;
  });
}

describe('target rule scaleDownPeakSeconds', () => {
  it('holds while the peak of the window is within the scale-down tolerance, though the latest reading alone would scale in', () => {
    // Prepare: 10 replicas (capacity 500); latest 150 (ratio 0.3), but 5 minutes ago 320 (ratio 0.64, within 0.4)
    const p = peakPolicy();
    const history = withReadings([[5, 320], [2, 160]]);

    // Act
    const decision = decide(input(p, 10, { conns: 150 }, { history }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('WithinTolerance');
    expect(decision.reason).toContain('peak 320 of the last 600s');
  });

  it('scales in at once to the size the peak needs when the peak is outside the tolerance', () => {
    // Prepare: peak 280 (ratio 0.56 of 500, beyond 0.4) → ceil(280 / 50) = 6, not ceil(150 / 50) = 3
    const p = peakPolicy();
    const history = withReadings([[9, 280], [4, 200]]);

    // Act
    const decision = decide(input(p, 10, { conns: 150 }, { history }));

    // Assess
    expect(decision.action).toBe('scaleIn');
    expect(decision.desiredReplicas).toBe(6);
  });

  it('forgets readings older than the window', () => {
    // Prepare: 400 was 10 minutes ago, at the edge of a 600 s window (strictly newer counts), so it is out
    const p = peakPolicy();
    const history = withReadings([[10, 400], [3, 140]]);

    // Act
    const decision = decide(input(p, 10, { conns: 120 }, { history }));

    // Assess: peak 140 → 3
    expect(decision.desiredReplicas).toBe(3);
  });

  it('does not change scale-out: a load above capacity scales out on the latest reading', () => {
    // Prepare: a higher past reading must not inflate a scale-out
    const p = peakPolicy();
    const history = withReadings([[2, 2000]]);

    // Act
    const decision = decide(input(p, 10, { conns: 700 }, { history }));

    // Assess
    expect(decision.desiredReplicas).toBe(14);
  });

  it('uses only past data: changing a later reading leaves every earlier decision unchanged', () => {
    // Prepare: a burst, then a fall; a second series differs only from minute 8 on
    const p = peakPolicy({ scaleDownPeakSeconds: 300 });
    const series = [100, 100, 600, 620, 580, 200, 120, 110, 100, 100, 100, 100, 100, 100];
    const changed = [...series.slice(0, 8), 900, 900, 900, 900, 900, 900];

    // Act
    const a = replay(p, series, 2);
    const b = replay(p, changed, 2);

    // Assess: identical up to minute 7; the first series holds 12 until the burst leaves the 5-minute
    // window (minute 9), then scales in to what the window's peak needs (200 → 4; later 110 → 3)
    expect(b.slice(0, 8).map((d) => d.desiredReplicas)).toEqual(a.slice(0, 8).map((d) => d.desiredReplicas));
    expect(a.map((d) => d.desiredReplicas)).toEqual([2, 2, 12, 12, 12, 12, 12, 12, 12, 4, 4, 3, 3, 3]);
    expect(b[8]!.desiredReplicas).toBe(18);
  });

  it('ignores a stored reading time-stamped after now', () => {
    // Prepare: an entry from the future (clock skew between callers)
    const p = peakPolicy();
    const history: BehaviorHistory = { ...emptyHistory, readings: { conns: [{ at: NOW + minute, value: 480 }] } };

    // Act
    const decision = decide(input(p, 10, { conns: 120 }, { history }));

    // Assess
    expect(decision.desiredReplicas).toBe(3);
    expect(decision.history.readings?.conns).toEqual([{ at: NOW, value: 120 }]);
  });

  it('keeps the stored readings bounded: merged to one a minute (the higher value) and pruned to the window', () => {
    // Prepare: an evaluation every 10 s for an hour against a 600 s window
    const p = peakPolicy();
    let history: BehaviorHistory = emptyHistory;
    let largest = 0;

    // Act
    for (let i = 0; i < 360; i++) {
      const value = i === 355 ? 450 : 100 + (i % 7);
      history = decide(input(p, 10, { conns: value }, { now: NOW + seconds(10 * i), history })).history;
      largest = Math.max(largest, history.readings?.conns?.length ?? 0);
    }

    // Assess: ≤ 600/60 + 1 entries, and the 450 seen 40 s ago was not lost in a merge
    const readings = history.readings!.conns!;
    expect(largest).toBeLessThanOrEqual(11);
    expect(Math.max(...readings.map((r) => r.value))).toBe(450);
    for (let i = 1; i < readings.length; i++) expect(readings[i]!.at - readings[i - 1]!.at).toBeGreaterThanOrEqual(minute);
  });

  it('stores no fallback value for a missing metric, and no readings at all without the option', () => {
    // Prepare
    const withFallback = peakPolicy({ onMissingMetric: { value: 5000 } });
    const without = policy({ rule: { type: 'target', metric: 'conns', perReplica: 50 } });

    // Act
    const missing = decide(input(withFallback, 10, { conns: undefined }));
    const plain = decide(input(without, 10, { conns: 120 }));

    // Assess
    expect(missing.history.readings?.conns).toBeUndefined();
    expect(plain.history.readings).toBeUndefined();
  });

  it.each([30, 3601, 90.5])('rejects scaleDownPeakSeconds %s with the field named', (value) => {
    // Prepare
    const candidate = { ...peakPolicy(), rule: { type: 'target', metric: 'conns', perReplica: 50, scaleDownPeakSeconds: value } };

    // Act
    const result = Policy.safeParse(candidate);

    // Assess
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error!.issues)).toContain('scaleDownPeakSeconds');
  });
});
