/**
 * rule.type envelope: a noise-aware level, a rise guard and bursts remembered at their phase of a
 * period (shared/engine/envelope.ts). Expected counts are computed here from the rule's formulas,
 * from the values fed in, not copied from a run.
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../shared/engine/decide.ts';
import { emptyHistory, type BehaviorHistory, type Decision } from '../../shared/engine/types.ts';
import { stats } from '../../shared/engine/envelope.ts';
import { Policy, type PolicyInput } from '../../shared/policy/schema.ts';
import { NOW, policy, seconds } from './policies.ts';

const minute = seconds(60);
const C = 100;
const atOnce: PolicyInput['behavior'] = {
  tolerance: 0,
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 1000, periodSeconds: 60 }] },
  scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }] },
};
const envelopePolicy = (rule: Record<string, unknown> = {}, extra: Partial<PolicyInput> = {}) =>
  policy({ rule: { type: 'envelope', metric: 'conns', perReplica: C, ...rule } as PolicyInput['rule'], behavior: atOnce, ...extra });

/** Replays one datapoint per interval through decide as the caller does: history and replicas carried. */
function replay(p: Policy, values: number[], options: { start?: number; intervalMs?: number; history?: BehaviorHistory; replicas?: number } = {}) {
  const interval = options.intervalMs ?? minute;
  let history = options.history ?? emptyHistory;
  let replicas = options.replicas ?? 1;
  const decisions: Decision[] = [];
  values.forEach((value, i) => {
    const now = (options.start ?? NOW) + i * interval;
    const decision = decide({ policy: p, currentReplicas: replicas, metrics: { conns: { value, timestamp: now - interval } }, now, history, ceiling: 10_000 });
    decisions.push(decision);
    history = decision.history;
    replicas = decision.desiredReplicas;
  });
  return { decisions, history, replicas };
}

const alternating = (n: number, low: number, high: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? low : high));

describe('envelope rule: level', () => {
  it('provisions for the mean plus z noise deviations, the deviation estimated from interval-to-interval changes', () => {
    // Prepare: 90 minutes alternating 900/1100: mean 1000, every change 200, so σ = 200·√π/2.
    const p = envelopePolicy({ z: 2.5 });
    const sigma = (200 * Math.sqrt(Math.PI)) / 2;
    // Act
    const { decisions } = replay(p, alternating(90, 900, 1100));
    // Assess: the level beats the peak (1100 at 0.85 → 12.9) and the rise (1100 + 200 → 13).
    const last = decisions.at(-1)!;
    expect(last.desiredReplicas).toBe(Math.ceil((1000 + 2.5 * sigma) / C));
    expect(last.reason).toMatch(/level 1000\+2.5×/);
  });

  it('starts cold on the reactive terms (the recent peak at peakUtilization) until a quarter of the deviation window is known', () => {
    // Prepare: deviationSeconds 3600 → the level speaks from 15 values on.
    const p = envelopePolicy({ z: 2.5, peakUtilization: 0.85 });
    // Act
    const { decisions } = replay(p, alternating(16, 900, 1100));
    // Assess
    expect(decisions[0]!.reason).toMatch(/level warming up: 1 values/);
    expect(decisions[0]!.desiredReplicas).toBe(Math.ceil(900 / (0.85 * C)));
    expect(decisions[13]!.reason).toMatch(/warming up: 14 values/);
    expect(decisions[14]!.reason).not.toMatch(/warming up/);
  });

  it('works per interval on a 5-minute schedule: windows in seconds become counts of that interval', () => {
    // Prepare: the same alternating load, one datapoint every 5 minutes for 10 hours.
    const p = envelopePolicy({ meanSeconds: 1800, deviationSeconds: 3600 });
    // Act
    const { history, decisions } = replay(p, alternating(120, 900, 1100), { intervalMs: 5 * minute });
    // Assess: 12 five-minute values cover 3600 s (+2 intervals of margin), and the level is the same as per minute.
    const state = history.envelope!.conns!;
    expect(state.intervalMs).toBe(5 * minute);
    expect(state.values.length).toBe(Math.ceil((3600 * 1000 + 2 * 5 * minute) / (5 * minute)));
    expect(decisions.at(-1)!.desiredReplicas).toBe(Math.ceil((1000 + (2.5 * 200 * Math.sqrt(Math.PI)) / 2) / C));
  });
});

describe('envelope rule: rise guard', () => {
  it('adds the last interval’s increase to the last value when the load jumps', () => {
    // Prepare: warm at 500 (no noise), then 2,000.
    const p = envelopePolicy({ peakUtilization: 0.85 });
    // Act
    const { decisions } = replay(p, [...Array(30).fill(500), 2000], { replicas: 5 });
    // Assess: rise 2000 + 1500 → 35 beats the peak 2000 / 85 → 24.
    expect(decisions.at(-1)!.desiredReplicas).toBe(Math.ceil((2000 + 1500) / C));
    expect(decisions.at(-1)!.reason).toMatch(/rise 2000\+1500/);
  });

  it('keeps the recent peak at peakUtilization for peakSeconds after it, then follows the level down in one step', () => {
    // Prepare: warm at 500, one minute at 1,000, then 500 again.
    const p = envelopePolicy({ peakSeconds: 300, peakUtilization: 0.85, burstMinRatio: 100 });
    // Act
    const { decisions } = replay(p, [...Array(30).fill(500), 1000, ...Array(8).fill(500)], { replicas: 5 });
    // Assess
    const afterPeak = decisions.slice(31);
    expect(afterPeak.slice(0, 5).map((d) => d.desiredReplicas)).toEqual(Array(5).fill(Math.ceil(1000 / (0.85 * C))));
    expect(afterPeak[5]!.desiredReplicas).toBeLessThan(afterPeak[4]!.desiredReplicas);
  });
});

describe('envelope rule: remembered bursts', () => {
  const day = 24 * 60;
  // A quiet, slightly noisy load with a 5× burst at 09:00 every day (minute 540 of the day).
  const dayOfLoad = () => Array.from({ length: day }, (_, m) => (m >= 540 && m < 550 ? 2500 : 500 + (m % 2) * 20));
  const bursty = envelopePolicy({ bursts: [{ periodSeconds: 86_400, remember: 7 }], burstMinRepeats: 2, burstLeadSeconds: 60, burstHoldSeconds: 0 });

  it('pre-scales one interval before a phase where two remembered rises fall, by the remembered rise added to the level', () => {
    // Act: three days; the burst of day 3 should find its replicas ready.
    const { decisions, history } = replay(bursty, [...dayOfLoad(), ...dayOfLoad(), ...dayOfLoad()]);
    // Assess: two rises remembered (the third is being seen), each 2500 − 500 = 2000.
    const rises = history.envelope!.conns!.rises;
    expect(rises.map((r) => r.rise)).toEqual([2000, 2000, 2000]);
    // Decision i reads value i, stamped one minute earlier: the burst value 540 is due at decision 539, and
    // a replica added one decision earlier (538) serves in time.
    const before = decisions[2 * day + 537]!;
    const ahead = decisions[2 * day + 538]!;
    expect(before.reason).not.toMatch(/remembered burst/);
    expect(ahead.reason).toMatch(/remembered burst \+2000/);
    expect(ahead.desiredReplicas).toBeGreaterThanOrEqual(Math.ceil((520 + 2000) / C));
    // Day 2 has only one remembered rise at that phase: no pre-scaling (burstMinRepeats 2).
    expect(decisions[day + 538]!.reason).not.toMatch(/remembered burst/);
  });

  it('does not count noise as a rise: a noisy load with no burst remembers nothing', () => {
    // Prepare: 500 ± 300 noise, never twice the value two minutes before by 10 deviations.
    let seed = 7;
    const noisy = Array.from({ length: 2 * day }, () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return 500 + Math.round((seed / 2 ** 32 - 0.5) * 600);
    });
    // Act
    const { history } = replay(bursty, noisy);
    // Assess
    expect(history.envelope!.conns!.rises).toEqual([]);
  });

  it('forgets a rise after period × remember', () => {
    // Prepare: remember 1 day; one burst on day 1, then two quiet days.
    const p = envelopePolicy({ bursts: [{ periodSeconds: 86_400, remember: 1 }] });
    const quiet = Array(day).fill(500);
    // Act
    const afterOneDay = replay(p, [...dayOfLoad(), ...quiet.slice(0, 500)]).history;
    const afterTwoDays = replay(p, [...dayOfLoad(), ...quiet, ...quiet.slice(0, 600)]).history;
    // Assess
    expect(afterOneDay.envelope!.conns!.rises).toHaveLength(1);
    expect(afterTwoDays.envelope!.conns!.rises).toEqual([]);
  });
});

describe('envelope rule: with the rest of the engine', () => {
  it('never reads a missing metric as 0: holds, and the state is not advanced', () => {
    // Prepare
    const p = envelopePolicy();
    const { history } = replay(p, alternating(20, 900, 1100), { replicas: 12 });
    // Act
    const decision = decide({ policy: p, currentReplicas: 12, metrics: { conns: undefined }, now: NOW + 20 * minute, history, ceiling: 10_000 });
    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('MissingMetric');
    expect(decision.history.envelope).toEqual(history.envelope);
  });

  it('combines with a target rule: the larger desired count wins', () => {
    // Prepare: queue 3,000 at 100 per replica wants 30; the envelope on conns ~1,000 wants ~15.
    const p = policy({
      rule: [
        { type: 'envelope', metric: 'conns', perReplica: C },
        { type: 'target', metric: 'queue', perReplica: 100 },
      ],
      behavior: atOnce,
    });
    // Act
    const decision = decide({ policy: p, currentReplicas: 10, metrics: { conns: { value: 1000, timestamp: NOW - minute }, queue: { value: 3000, timestamp: NOW - minute } }, now: NOW, history: emptyHistory, ceiling: 10_000 });
    // Assess
    expect(decision.desiredReplicas).toBe(30);
  });

  it('is governed by behavior like target: a scale-down stabilization window holds the highest recent recommendation', () => {
    // Prepare: a 5-minute scale-down window, short level windows so the level falls at once; the load drops.
    const p = envelopePolicy({ meanSeconds: 60, deviationSeconds: 600, peakSeconds: 0 }, { behavior: { ...atOnce, scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }] } } });
    // Act
    const { decisions } = replay(p, [...Array(20).fill(2000), ...Array(3).fill(500)], { replicas: 20 });
    // Assess
    expect(decisions.at(-1)!.notScaledReason).toBe('Stabilization');
    expect(decisions.at(-1)!.desiredReplicas).toBe(decisions[19]!.desiredReplicas);
  });

  it('ignores a datapoint it has already seen (a second evaluation in the same period)', () => {
    // Prepare
    const p = envelopePolicy();
    const { history } = replay(p, [500, 600]);
    // Act: the same datapoint again, read a few seconds later.
    const again = decide({ policy: p, currentReplicas: 7, metrics: { conns: { value: 600, timestamp: NOW } }, now: NOW + minute + seconds(10), history, ceiling: 10_000 });
    // Assess
    expect(again.history.envelope!.conns!.values).toEqual([500, 600]);
  });
});

describe('envelope stats', () => {
  it('estimates a normal noise’s standard deviation from its changes (within 5% on 10,000 draws)', () => {
    // Prepare: Box–Muller normal draws with σ = 50 from a seeded generator.
    let seed = 11;
    const uniform = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return (seed + 1) / (2 ** 32 + 1);
    };
    const values = Array.from({ length: 10_000 }, () => 1000 + 50 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
    // Act
    const { deviation } = stats(values, 10_000, 10_000);
    // Assess
    expect(Math.abs(deviation - 50) / 50).toBeLessThan(0.05);
  });
});
