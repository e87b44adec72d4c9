/**
 * decide(): rules → raw desired → HPA behavior → bounds → suspend. Cases cite where they come from:
 * kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go and horizontal_test.go,
 * and the user's seed (CONDITIONS and its log line "CURRENT_VALUE: 4280").
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../shared/engine/decide.ts';
import { parseStepsString } from '../../shared/policy/schema.ts';
import { NOW, input, policy, seconds } from './policies.ts';

const SEED_CONDITIONS = '0=1 1000=2 2000=3 3000=4 4100=5 9000=10';
const seedPolicy = (overrides = {}) =>
  policy({ capacity: { min: 1, max: 10 }, rule: { type: 'steps', metric: 'queue', steps: SEED_CONDITIONS }, ...overrides });
// Behavior that lets any change through at once, to test a rule alone.
const immediate = {
  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent' as const, value: 1000, periodSeconds: 15 }] },
  scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent' as const, value: 100, periodSeconds: 15 }] },
};

describe('steps rule (the seed’s CONDITIONS)', () => {
  it('reads the seed’s log value 4280 as step 4100 → 5 replicas (the highest threshold reached)', () => {
    // Prepare: seed 003 log "[CURRENT_VALUE: 4280 MIN_VALUE: 4200 SCALE 3 PODS]" — the seed's own printout is buggy
    const p = seedPolicy();

    // Act
    const decision = decide(input(p, 3, { queue: 4280 }));

    // Assess
    expect(decision.rawDesired).toBe(5);
    expect(decision.desiredReplicas).toBe(5);
    expect(decision.action).toBe('scaleOut');
    expect(decision.reason).toContain('queue=4280 reached step 4100 → 5 replicas');
  });

  it.each([
    [0, 1],
    [999, 1],
    [1000, 2],
    [2500, 3],
    [4099, 4],
    [4100, 5],
    [8999, 5],
    [9000, 10],
    [250000, 10],
  ])('seed CONDITIONS: value %d → %d replicas', (value, expected) => {
    // Prepare
    const p = seedPolicy({ behavior: immediate });

    // Act
    const decision = decide(input(p, 5, { queue: value }));

    // Assess
    expect(decision.rawDesired).toBe(expected);
    expect(decision.desiredReplicas).toBe(expected);
  });

  it('below the first threshold gives the policy min', () => {
    // Prepare
    const p = policy({ capacity: { min: 2, max: 10 }, rule: { type: 'steps', metric: 'queue', steps: [[100, 3], [200, 6]] }, behavior: immediate });

    // Act
    const decision = decide(input(p, 6, { queue: 50 }));

    // Assess
    expect(decision.rawDesired).toBe(2);
    expect(decision.action).toBe('scaleIn');
  });

  it('parses the CONDITIONS string into ascending pairs', () => {
    // Act
    const steps = parseStepsString(SEED_CONDITIONS);

    // Assess
    expect(steps).toEqual([[0, 1], [1000, 2], [2000, 3], [3000, 4], [4100, 5], [9000, 10]]);
  });
});

describe('target rule (kubernetes replica_calculator_test.go, external per-pod metric)', () => {
  it.each([
    // [name, current, value, perReplica, expected]
    ['TestReplicaCalcScaleUpPerPodCMExternal / "scale up"', 3, 8600, 2150, 4],
    ['external per-pod "scale down"', 5, 8600, 2867, 3],
    ['within default tolerance (usage ratio 0.989)', 3, 8600, 2900, 3],
  ])('%s: %d replicas, %d at %d per replica → %d', (_name, current, value, perReplica, expected) => {
    // Prepare
    const p = policy({ rule: { type: 'target', metric: 'conns', perReplica }, behavior: immediate });

    // Act
    const decision = decide(input(p, current, { conns: value }));

    // Assess
    expect(decision.desiredReplicas).toBe(expected);
  });

  it('keeps current within tolerance and says so (WithinTolerance)', () => {
    // Prepare: 10 replicas at 50 per replica = 500; 540 is a ratio of 1.08, inside 0.1
    const p = policy();

    // Act
    const decision = decide(input(p, 10, { conns: 540 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('WithinTolerance');
  });

  it('just outside the tolerance scales (ratio 1.12 → ceil(560/50) = 12)', () => {
    // Prepare
    const p = policy();

    // Act
    const decision = decide(input(p, 10, { conns: 560 }));

    // Assess
    expect(decision.desiredReplicas).toBe(12);
  });

  it('from 0 replicas: ceil(value / perReplica), no tolerance to divide by', () => {
    // Prepare
    const p = policy({ capacity: { min: 0, max: 100 } });

    // Act
    const decision = decide(input(p, 0, { conns: 101 }));

    // Assess: the default scale-up policies allow max(0+4, ceil(0*2)) = 4 from 0
    expect(decision.rawDesired).toBe(3);
    expect(decision.desiredReplicas).toBe(3);
  });
});

describe('several metrics and missing metrics (kubernetes horizontal.go computeReplicasForMetrics)', () => {
  const twoRules = (extra = {}) =>
    policy({
      rule: [
        { type: 'target', metric: 'conns', perReplica: 50 },
        { type: 'steps', metric: 'queue', steps: SEED_CONDITIONS },
      ],
      behavior: immediate,
      ...extra,
    });

  it('the largest desired count wins', () => {
    // Act
    const byTarget = decide(input(twoRules(), 4, { conns: 400, queue: 1500 }));
    const bySteps = decide(input(twoRules(), 4, { conns: 100, queue: 9500 }));

    // Assess
    expect(byTarget.desiredReplicas).toBe(8);
    expect(bySteps.desiredReplicas).toBe(10);
  });

  it('horizontal_test.go TestScaleUpOneMetricEmpty: one metric missing, the other scales up', () => {
    // Act
    const decision = decide(input(twoRules(), 3, { conns: undefined, queue: 4280 }));

    // Assess
    expect(decision.action).toBe('scaleOut');
    expect(decision.desiredReplicas).toBe(5);
  });

  it('horizontal_test.go TestNoScaleDownOneMetricEmpty: one metric missing, the other would scale in → hold', () => {
    // Act
    const decision = decide(input(twoRules(), 5, { conns: undefined, queue: 100 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.desiredReplicas).toBe(5);
    expect(decision.notScaledReason).toBe('MissingMetric');
  });

  it('all metrics missing → none, MissingMetric, never read as 0, no recommendation stored', () => {
    // Prepare
    const p = seedPolicy();

    // Act
    const decision = decide(input(p, 4, {}));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.rawDesired).toBeNull();
    expect(decision.desiredReplicas).toBe(4);
    expect(decision.notScaledReason).toBe('MissingMetric');
    expect(decision.reason).toContain('queue has no datapoint');
    expect(decision.history.recommendations).toHaveLength(0);
  });

  it('onMissingMetric { value: N } reads N for the missing metric', () => {
    // Prepare
    const p = seedPolicy({ onMissingMetric: { value: 2000 }, behavior: immediate });

    // Act
    const decision = decide(input(p, 1, { queue: undefined }));

    // Assess
    expect(decision.desiredReplicas).toBe(3);
    expect(decision.reason).toContain('fallback 2000');
  });
});

describe('behavior inside decide (HPA defaults)', () => {
  it('default scale-up: limited to max(current + 4, 2 × current) in 15 s, and the reason names the policy', () => {
    // Prepare: horizontal_test.go "scaleUp with default behavior" (10 → 50 gives 20); here 2 → 40 gives 6 by Pods/4
    const p = policy();

    // Act
    const decision = decide(input(p, 2, { conns: 2000 }));

    // Assess
    expect(decision.rawDesired).toBe(40);
    expect(decision.desiredReplicas).toBe(6);
    expect(decision.action).toBe('scaleOut');
    expect(decision.notScaledReason).toBe('RateLimited');
    expect(decision.reason).toContain('scale-up limited to 6 by policy Pods/4/15s');
  });

  it('a recent scale event counts against the period (second scale-up 10 s later is held)', () => {
    // Prepare
    const p = policy({ behavior: { scaleUp: { policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }] } } });
    const first = decide(input(p, 2, { conns: 2000 }));

    // Act
    const second = decide(input(p, 6, { conns: 2000 }, { now: NOW + seconds(10), history: first.history }));

    // Assess
    expect(first.desiredReplicas).toBe(6);
    expect(second.action).toBe('none');
    expect(second.notScaledReason).toBe('RateLimited');
  });

  it('default 300 s scale-down window holds the highest recent recommendation (Stabilization)', () => {
    // Prepare
    const p = policy();
    const history = { recommendations: [{ at: NOW - seconds(120), replicas: 8 }], events: [] };

    // Act
    const held = decide(input(p, 8, { conns: 100 }, { history }));
    const later = decide(input(p, 8, { conns: 100 }, { history, now: NOW + seconds(181) }));

    // Assess
    expect(held.action).toBe('none');
    expect(held.notScaledReason).toBe('Stabilization');
    expect(later.action).toBe('scaleIn');
    expect(later.desiredReplicas).toBe(2);
  });

  it('selectPolicy Disabled for scale-down → ScalingDisabled', () => {
    // Prepare
    const p = policy({ behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } } });

    // Act
    const decision = decide(input(p, 8, { conns: 100 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('ScalingDisabled');
  });

  it('history: appends the recommendation and the scale event, prunes what no window can see', () => {
    // Prepare: default windows (up 0 s, down 300 s), periods 15 s
    const p = policy();
    const history = {
      recommendations: [
        { at: NOW - seconds(400), replicas: 9 },
        { at: NOW - seconds(100), replicas: 3 },
      ],
      events: [
        { at: NOW - seconds(20), delta: 1 },
        { at: NOW - seconds(5), delta: 1 },
      ],
    };

    // Act
    const decision = decide(input(p, 3, { conns: 400 }, { history }));

    // Assess
    expect(decision.history.recommendations).toEqual([
      { at: NOW - seconds(100), replicas: 3 },
      { at: NOW, replicas: 8 },
    ]);
    expect(decision.history.events).toEqual([
      { at: NOW - seconds(5), delta: 1 },
      { at: NOW, delta: decision.desiredReplicas - 3 },
    ]);
    expect(decision.history.lastScaleOutAt).toBe(NOW);
  });
});

describe('bounds, suspend, dryRun', () => {
  it('caps at max, and AlreadyAtMax when already there', () => {
    // Prepare
    const p = policy({ capacity: { min: 1, max: 10 }, behavior: immediate });

    // Act
    const capped = decide(input(p, 6, { conns: 5000 }));
    const atMax = decide(input(p, 10, { conns: 5000 }));

    // Assess
    expect(capped.desiredReplicas).toBe(10);
    expect(atMax.action).toBe('none');
    expect(atMax.notScaledReason).toBe('AlreadyAtMax');
  });

  it('the deployment ceiling wins over a higher policy max', () => {
    // Prepare
    const p = policy({ capacity: { min: 1, max: 100 }, behavior: immediate });

    // Act
    const decision = decide(input(p, 2, { conns: 5000 }, { ceiling: 7 }));

    // Assess
    expect(decision.desiredReplicas).toBe(7);
    expect(decision.reason).toContain('ceiling');
  });

  it('AlreadyAtMin when the rule asks for less than min', () => {
    // Prepare
    const p = policy({ capacity: { min: 3, max: 10 }, behavior: immediate });

    // Act
    const decision = decide(input(p, 3, { conns: 10 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('AlreadyAtMin');
  });

  it('current above max goes straight to max (horizontal.go reconcileAutoscaler)', () => {
    // Prepare: a stabilization window that would otherwise hold
    const p = policy({ capacity: { min: 1, max: 5 } });
    const history = { recommendations: [{ at: NOW - seconds(30), replicas: 12 }], events: [] };

    // Act
    const decision = decide(input(p, 12, { conns: 600 }, { history }));

    // Assess
    expect(decision.action).toBe('scaleIn');
    expect(decision.desiredReplicas).toBe(5);
  });

  it('suspended scale-out → none, Suspended; scale-in still works', () => {
    // Prepare
    const p = policy({ suspend: { scaleOut: true, scaleIn: false }, behavior: immediate });

    // Act
    const out = decide(input(p, 2, { conns: 400 }));
    const inward = decide(input(p, 8, { conns: 100 }));

    // Assess
    expect(out.action).toBe('none');
    expect(out.desiredReplicas).toBe(2);
    expect(out.notScaledReason).toBe('Suspended');
    expect(out.history.events).toHaveLength(0);
    expect(inward.action).toBe('scaleIn');
  });

  it('suspended scale-in → none, Suspended', () => {
    // Prepare
    const p = policy({ suspend: { scaleOut: false, scaleIn: true }, behavior: immediate });

    // Act
    const decision = decide(input(p, 8, { conns: 100 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('Suspended');
  });

  it('dryRun does not change the decision (the caller records DryRun and does not act)', () => {
    // Prepare
    const live = seedPolicy();
    const dry = seedPolicy({ dryRun: true });

    // Act
    const a = decide(input(live, 3, { queue: 4280 }));
    const b = decide(input(dry, 3, { queue: 4280 }));

    // Assess
    expect(b).toEqual(a);
  });

  it('a disabled policy does nothing (PolicyDisabled)', () => {
    // Prepare
    const p = seedPolicy({ enabled: false });

    // Act
    const decision = decide(input(p, 3, { queue: 9999 }));

    // Assess
    expect(decision.action).toBe('none');
    expect(decision.notScaledReason).toBe('PolicyDisabled');
  });
});

describe('additive target options (schema: behavior.*.tolerance, rule.scaleUpHeadroom)', () => {
  it('per-direction tolerance (as Kubernetes 1.33 KEP-4951): a wide scale-down band, a narrow scale-up band', () => {
    // Prepare: 10 replicas at 50 = 500
    const p = policy({ behavior: { ...immediate, scaleUp: { ...immediate.scaleUp, tolerance: 0.02 }, scaleDown: { ...immediate.scaleDown, tolerance: 0.5 } } });

    // Act
    const up = decide(input(p, 10, { conns: 530 })); // ratio 1.06: beyond 0.02
    const heldDown = decide(input(p, 10, { conns: 300 })); // ratio 0.6: within 0.5
    const down = decide(input(p, 10, { conns: 240 })); // ratio 0.48: beyond 0.5

    // Assess
    expect(up.desiredReplicas).toBe(11);
    expect(heldDown.action).toBe('none');
    expect(heldDown.notScaledReason).toBe('WithinTolerance');
    expect(down.desiredReplicas).toBe(5);
  });

  it('without per-direction tolerances, behavior.tolerance applies both ways', () => {
    // Prepare
    const p = policy({ behavior: { ...immediate, tolerance: 0.3 } });

    // Act
    const held = decide(input(p, 10, { conns: 640 }));
    const moved = decide(input(p, 10, { conns: 660 }));

    // Assess
    expect(held.action).toBe('none');
    expect(moved.desiredReplicas).toBe(14);
  });

  it('scaleUpHeadroom sizes a scale-out for a lower load per replica; scale-in is unchanged', () => {
    // Prepare: 800 / (50 × 0.8) = 20 instead of 16
    const p = policy({ rule: { type: 'target', metric: 'conns', perReplica: 50, scaleUpHeadroom: 0.2 }, behavior: immediate });

    // Act
    const out = decide(input(p, 4, { conns: 800 }));
    const inward = decide(input(p, 30, { conns: 800 }));

    // Assess
    expect(out.desiredReplicas).toBe(20);
    expect(out.reason).toContain('scale-up headroom 0.2');
    expect(inward.desiredReplicas).toBe(16);
  });
});
