/**
 * decide() throughput: 10,000 varied policies (steps / target / stepAdjust, a third each, with
 * varied behavior) evaluated once each, three ways side by side:
 * - empty history (the cheapest case, a fresh policy),
 * - a realistic history (a 5-minute window of recommendations every 15 s and a few events),
 * - a long 300-entry history (what a 75-minute window at one recommendation per 15 s keeps),
 * so the cost of the stabilization/rate-limit scans over the history is visible.
 *
 * Then the envelope rule with FULL history (its 2 hours of per-minute values and the most rises it
 * remembers, 256), two ways: 10,000 policies each with its own history (a fleet: ~10k × 3 KB of
 * arrays live at once, so the garbage collector is part of the figure) and one policy's history
 * decided 10,000 times (decide's own cost on a hot history). Target: >= 100,000 decisions/s.
 */
import { decide } from '../shared/engine/decide.ts';
import { maxRises, type EnvelopeHistory } from '../shared/engine/envelope.ts';
import type { BehaviorHistory, DecisionInput } from '../shared/engine/types.ts';
import { Policy, type PolicyInput } from '../shared/policy/schema.ts';
import { printTable } from './table.ts';

const POLICIES = 10_000;
const NOW = Date.UTC(2026, 0, 1);

/** A small deterministic generator, so runs compare. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makePolicy(i: number, rnd: () => number): Policy {
  const kind = i % 3;
  const rule: PolicyInput['rule'] =
    kind === 0
      ? { type: 'steps', metric: 'load', steps: [[0, 1], [1000, 2], [2000, 4], [4000, 8], [8000, 16], [16000, 32]] }
      : kind === 1
        ? { type: 'target', metric: 'load', perReplica: 100 + Math.floor(rnd() * 900) }
        : {
            type: 'stepAdjust',
            metric: 'load',
            threshold: 5000,
            adjustmentType: rnd() < 0.5 ? 'ChangeInCapacity' : 'PercentChangeInCapacity',
            adjustments: [{ upper: -1000, adjustment: -20 }, { lower: -1000, upper: 0, adjustment: 0 }, { lower: 0, upper: 2000, adjustment: 10 }, { lower: 2000, adjustment: 30 }],
            cooldownSeconds: 120,
          };
  return Policy.parse({
    id: `p${i}`,
    target: { type: 'kubernetes', cluster: 'bench', namespace: 'default', kind: 'Deployment', name: `w${i}` },
    capacity: { min: 1, max: 200 },
    metrics: [{ id: 'load', source: 'redis', endpoint: 'cache', list: `q${i}` }],
    rule,
    behavior: {
      scaleUp: { stabilizationWindowSeconds: rnd() < 0.5 ? 0 : 60, selectPolicy: rnd() < 0.8 ? 'Max' : 'Min' },
      scaleDown: { stabilizationWindowSeconds: [60, 300, 900][Math.floor(rnd() * 3)]!, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }, { type: 'Pods', value: 3, periodSeconds: 120 }] },
    },
  });
}

function makeHistory(entries: number, spacingMs: number, rnd: () => number): BehaviorHistory {
  const recommendations = Array.from({ length: entries }, (_, k) => ({ at: NOW - (entries - k) * spacingMs, replicas: 1 + Math.floor(rnd() * 40) }));
  const events = Array.from({ length: Math.min(entries, 8) }, (_, k) => ({ at: NOW - (8 - k) * 20_000, delta: rnd() < 0.5 ? 1 : -1 }));
  return { recommendations, events, lastScaleOutAt: NOW - 60_000 };
}

function run(inputs: DecisionInput[]): number {
  let checksum = 0;
  const started = performance.now();
  for (const inp of inputs) checksum += decide(inp).desiredReplicas;
  const elapsed = performance.now() - started;
  if (checksum < 0) console.log(checksum); // keeps the loop from being optimized away
  return elapsed;
}

export default async function decideBench(): Promise<void> {
  const rnd = random(42);
  const policies = Array.from({ length: POLICIES }, (_, i) => makePolicy(i, rnd));
  const base = policies.map((policy) => ({
    policy,
    currentReplicas: 1 + Math.floor(rnd() * 40),
    metrics: { load: { value: Math.floor(rnd() * 20_000), timestamp: NOW - 30_000 } },
    now: NOW,
    ceiling: 150,
  }));
  const cases = [
    { name: 'empty history', history: () => ({ recommendations: [], events: [] }) },
    { name: '20 recommendations (5 min at 15 s)', history: () => makeHistory(20, 15_000, rnd) },
    { name: '300 recommendations', history: () => makeHistory(300, 15_000, rnd) },
  ];
  const rows = [];
  let emptyMs = 0;
  for (const c of cases) {
    const inputs: DecisionInput[] = base.map((b) => ({ ...b, history: c.history() }));
    run(inputs.slice(0, 1000)); // warm up the JIT
    const ms = Math.min(run(inputs), run(inputs), run(inputs));
    if (emptyMs === 0) emptyMs = ms;
    rows.push({
      history: c.name,
      policies: POLICIES,
      'total ms': ms,
      'decisions/s': Math.round((POLICIES / ms) * 1000),
      'µs per decision': (ms * 1000) / POLICIES,
      'vs empty history': `${(ms / emptyMs).toFixed(2)}×`,
    });
  }
  printTable(rows);
  console.log('');
  envelopeBench(rnd);
}

function envelopePolicy(i: number): Policy {
  return Policy.parse({
    id: `e${i}`,
    target: { type: 'kubernetes', cluster: 'bench', namespace: 'default', kind: 'Deployment', name: `e${i}` },
    capacity: { min: 1, max: 1000 },
    metrics: [{ id: 'load', source: 'cloudwatch', namespace: 'AWS/ApplicationELB', name: 'RequestCount', stat: 'Sum' }],
    rule: { type: 'envelope', metric: 'load', perReplica: 1000, meanSeconds: 1800, deviationSeconds: 7200, bursts: [{ periodSeconds: 1800, remember: 336 }, { periodSeconds: 86_400, remember: 7 }] },
    behavior: { tolerance: 0, scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 0 } },
  });
}

/** A full envelope state: 2 hours of per-minute values and the most rises it keeps, spread over the last week. */
function fullEnvelopeHistory(rnd: () => number): BehaviorHistory {
  const values = Array.from({ length: 122 }, () => 2000 + Math.floor(rnd() * 4000));
  const week = 7 * 86_400_000;
  const rises = Array.from({ length: maxRises }, (_, k) => ({ at: NOW - week + Math.floor(((k + rnd()) * week) / maxRises), rise: 3000 + Math.floor(rnd() * 5000) }));
  const envelope: EnvelopeHistory = { lastAt: NOW - 120_000, intervalMs: 60_000, values, rises };
  return { recommendations: [{ at: NOW - 60_000, replicas: 5 }], events: [{ at: NOW - 60_000, delta: 1 }], envelope: { load: envelope } };
}

function envelopeBench(rnd: () => number): void {
  const fleet: DecisionInput[] = Array.from({ length: POLICIES }, (_, i) => ({
    policy: envelopePolicy(i),
    currentReplicas: 1 + Math.floor(rnd() * 10),
    metrics: { load: { value: 2000 + Math.floor(rnd() * 4000), timestamp: NOW - 60_000 } },
    now: NOW,
    history: fullEnvelopeHistory(rnd),
    ceiling: 1000,
  }));
  const hot = Array.from({ length: POLICIES }, () => fleet[0]!);
  const rows = [];
  for (const [name, inputs] of [
    ['10,000 policies, each its own full history', fleet],
    ['one policy, its full history, decided 10,000 times', hot],
  ] as const) {
    run(inputs.slice(0, 1000));
    const ms = Math.min(run(inputs), run(inputs), run(inputs));
    const perSecond = Math.round((POLICIES / ms) * 1000);
    rows.push({
      'envelope rule': name,
      decisions: POLICIES,
      'total ms': ms,
      'decisions/s': perSecond,
      'µs per decision': (ms * 1000) / POLICIES,
      'target 100,000/s': perSecond >= 100_000 ? 'met' : 'NOT met',
    });
  }
  printTable(rows);
}
