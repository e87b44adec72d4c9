import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { evaluate } from '../../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../../shared/evaluate/policies.ts';
import type { EvaluationOptions, StoredPolicy } from '../../shared/evaluate/types.ts';
import { withOverrides } from '../../shared/plugins/registry.ts';
import { stateOf } from '../../shared/plugins/state.ts';
import type { MemoryTargetSpec } from '../../shared/plugins/targets/memory/descriptor.ts';
import type { LoadBalancerFactory, PluginContext, ScaleRequest } from '../../shared/plugins/types.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { startTestStores, type TestStores } from '../state/setup.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from './fakes.ts';

let db: TestStores;
let target: MemoryTarget;
let metrics: MemoryMetrics;
let options: EvaluationOptions;
let serial = 0;

beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
});
beforeEach(() => {
  target = new MemoryTarget();
  metrics = new MemoryMetrics();
  options = { registry: memoryRegistry(target, metrics), endpoints: noEndpoints, ceiling: 100, owner: 'test', log: () => {} };
});

/** A policy on a service no other test uses, stored at version 1. */
function stored(input = {}, service = `svc-${++serial}`): StoredPolicy & { key: string } {
  const policy = Policy.parse(stepsPolicy(`p-${service}`, service, input));
  return { policy, version: 1, key: `memory/${service}` };
}

describe('evaluate (dynalite, in-memory target and metric source)', () => {
  it('scales a target, writes one Successful audit record and keeps the history', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 25);
    // Act
    const { records } = await evaluate([p], { type: 'schedule', id: 'tick-1' }, db.stores, options);
    // Assess
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'Successful', action: 'scaleOut', currentReplicas: 1, desiredReplicas: 3, policyId: p.policy.id, target: p.key });
    expect(target.replicas.get(p.key)).toBe(3);
    const audit = await db.stores.audit.list({ target: p.key });
    expect(audit.map((r) => r.activityId)).toEqual([records[0]!.activityId]);
    const history = await db.stores.state.readHistory(p.policy.id);
    expect(history.history.events).toHaveLength(1);
    const lease = await db.stores.state.readLease(p.key);
    expect(lease?.leaseUntil).toBe(0);
    expect(lease?.intent).toBeUndefined();
  });

  it('a scale that fails part-way is audited as Failed with the error and what the target had done', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 25);
    target.failingScale.add(p.key);
    // Act
    const { records } = await evaluate([p], { type: 'schedule', id: 'tick-fail' }, db.stores, options);
    // Assess
    expect(records[0]).toMatchObject({ status: 'Failed', action: 'scaleOut', error: expect.stringContaining('load balancer refused') });
    expect(records[0]!.details).toMatchObject({ created: ['c-1'], removed: ['c-1'] });
    const history = await db.stores.state.readHistory(p.policy.id);
    expect(history.history.events).toHaveLength(0);
  });

  it('upkeep (availability and reconcile) runs with the policy\'s load balancer, so existing containers rejoin it', async () => {
    // Prepare
    const seen: Array<{ call: string; loadBalancer: string | undefined }> = [];
    class UpkeepTarget extends MemoryTarget {
      async ensureAvailability(request: ScaleRequest) {
        seen.push({ call: 'ensureAvailability', loadBalancer: request.loadBalancer?.type });
        return [];
      }
      override async reconcile(request: ScaleRequest) {
        seen.push({ call: 'reconcile', loadBalancer: request.loadBalancer?.type });
        return {};
      }
    }
    const upkeep = new UpkeepTarget();
    const factory: LoadBalancerFactory = {
      type: 'haproxy',
      create: () => ({ type: 'haproxy', register: async () => ({}), drain: async () => ({}), reconcile: async () => ({}) }),
    };
    const registry = withOverrides(memoryRegistry(upkeep, metrics), { loadBalancers: { haproxy: async () => factory } });
    const p = stored({ loadBalancer: { type: 'haproxy', endpoint: 'lb', backend: 'web', port: 8080 } });
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 0);
    // Act
    await evaluate([p], { type: 'schedule', id: 'tick-upkeep' }, db.stores, { ...options, registry });
    // Assess
    expect(seen).toEqual([
      { call: 'ensureAvailability', loadBalancer: 'haproxy' },
      { call: 'reconcile', loadBalancer: 'haproxy' },
    ]);
  });

  it('plug-ins get the evaluation\'s durable state: what a target records in its namespace is in the state table afterwards', async () => {
    // Prepare: a target that remembers, in its own namespace, which service it last described.
    class RecordingTarget extends MemoryTarget {
      override async describe(request: ScaleRequest<MemoryTargetSpec>, ctx: PluginContext) {
        await stateOf(ctx, 'recording-target').set(`seen/${request.target.name}`, { replicas: this.replicasOf(request.target) });
        return super.describe(request, ctx);
      }
    }
    const recording = new RecordingTarget();
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 0);
    // Act
    await evaluate([p], { type: 'schedule', id: 'tick-state' }, db.stores, { ...options, registry: memoryRegistry(recording, metrics) });
    // Assess
    expect(await db.stores.pluginState.namespace('recording-target').get(`seen/${p.key.split('/')[1]}`)).toEqual({ replicas: 1 });
  });

  it('fetches metrics once per source for all targets, and records NotScaled with the reason', async () => {
    // Prepare
    const policies = [stored(), stored(), stored()];
    for (const p of policies) metrics.values.set(`queue:${p.key.split('/')[1]}`, 0);
    // Act
    const { records } = await evaluate(policies, { type: 'schedule' }, db.stores, options);
    // Assess
    expect(metrics.fetchCalls).toEqual([3]);
    expect(records.map((r) => [r.status, r.notScaledReason])).toEqual(Array(3).fill(['NotScaled', 'AtDesired']));
  });

  it('dry run decides and audits but never acts', async () => {
    // Prepare
    const p = stored({ dryRun: true });
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 95);
    // Act
    const { records } = await evaluate([p], { type: 'schedule' }, db.stores, options);
    // Assess
    // (1 → 10 wanted; the default scale-up rate limit of +4 pods per 15 s gives 5.)
    expect(records[0]).toMatchObject({ status: 'DryRun', action: 'scaleOut', rawDesired: 10, desiredReplicas: 5 });
    expect(target.scaleCalls).toEqual([]);
  });

  it('50 concurrent evaluations of one target: exactly one acts, the other 49 record LeaseHeld', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 45);
    let open!: () => void;
    target.gate = new Promise((resolve) => (open = resolve));
    const settled: Array<Awaited<ReturnType<typeof evaluate>>> = [];
    // Act
    const runs = Array.from({ length: 50 }, (_, i) =>
      evaluate([p], { type: 'schedule', id: `tick-${p.key}-${i}` }, db.stores, options).then((r) => {
        settled.push(r);
        return r;
      }),
    );
    // The winner waits in scale() until every loser has finished.
    for (let i = 0; i < 400 && settled.length < 49; i++) await new Promise((r) => setTimeout(r, 25));
    open();
    const results = await Promise.all(runs);
    // Assess
    const statuses = results.flatMap((r) => r.records).map((r) => r.notScaledReason ?? r.status);
    expect(statuses.filter((s) => s === 'Successful')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'LeaseHeld')).toHaveLength(49);
    expect(target.scaleCalls).toHaveLength(1);
    expect(await db.stores.audit.list({ target: p.key })).toHaveLength(50);
  });

  it('an alarm that finds the lease held by another evaluation waits for it and then acts; with no wait it records LeaseHeld', async () => {
    // Prepare: a held lease (another evaluation's upkeep) that its holder releases after 300 ms.
    const p = stored({ rule: { type: 'stepAdjust', adjustments: [{ lower: 0, adjustment: 2 }], cooldownSeconds: 0 }, alarms: ['high'] });
    const alarm = (id: string) => ({ type: 'alarm' as const, id, messageId: id, alarmName: 'high', alarm: { name: 'high', state: 'ALARM' as const, threshold: 10, value: 15 } });
    const hold = async () => {
      const held = await db.stores.state.acquireLease(p.key, 'upkeep', 60_000, Date.now());
      expect(held.acquired).toBe(true);
    };
    await hold();
    setTimeout(() => void db.stores.state.releaseLease(p.key, 'upkeep'), 300);
    // Act
    const waited = await evaluate([p], alarm(`wait-${p.key}`), db.stores, options);
    await hold();
    const impatient = await evaluate([p], alarm(`now-${p.key}`), db.stores, { ...options, alarmLeaseWaitMs: 0 });
    await db.stores.state.releaseLease(p.key, 'upkeep');
    // Assess
    expect(waited.records[0]).toMatchObject({ status: 'Successful', action: 'scaleOut', currentReplicas: 1, desiredReplicas: 3 });
    expect(impatient.records[0]).toMatchObject({ status: 'NotScaled', notScaledReason: 'LeaseHeld', details: { leaseHolder: 'upkeep' } });
    expect(target.scaleCalls).toEqual([{ target: p.key, desired: 3 }]);
  });

  it('a trigger delivered twice, in sequence and concurrently, acts once (stepAdjust would otherwise act twice)', async () => {
    // Prepare: +2 per alarm, no cooldown, so only idempotency stops a second action.
    const p = stored({
      rule: { type: 'stepAdjust', adjustments: [{ lower: 0, adjustment: 2 }], cooldownSeconds: 0 },
      alarms: ['high'],
    });
    const trigger = { type: 'alarm' as const, id: `msg-${p.key}`, messageId: `msg-${p.key}`, alarmName: 'high', alarm: { name: 'high', state: 'ALARM' as const, threshold: 10, value: 15 } };
    // Act
    const concurrent = await Promise.all([1, 2, 3].map(() => evaluate([p], trigger, db.stores, options)));
    const later = await evaluate([p], trigger, db.stores, options);
    // Assess
    const reasons = [...concurrent.flatMap((r) => r.records), ...later.records].map((r) => r.notScaledReason ?? r.status).sort();
    expect(reasons.filter((r) => r === 'Successful')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'LeaseHeld' || r === 'DuplicateTrigger')).toHaveLength(3);
    expect(later.records[0]!.notScaledReason).toBe('DuplicateTrigger');
    expect(target.scaleCalls).toHaveLength(1);
    expect(target.replicas.get(p.key)).toBe(3);
  });

  it('a crash between acting and auditing is detected and recorded by the next evaluation', async () => {
    // Prepare: the audit write of the action never returns (the process "dies" there; the timeout gives up on it).
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 35);
    const realPut = db.stores.audit.put.bind(db.stores.audit);
    let hung = false;
    db.stores.audit.put = async (record) => {
      if (!hung && record.status === 'Successful') {
        hung = true;
        return new Promise<boolean>(() => {});
      }
      return realPut(record);
    };
    let clock = Date.now();
    const crashed = await evaluate([p], { type: 'schedule' }, db.stores, { ...options, targetTimeoutMs: 300, now: () => clock }).finally(() => {
      db.stores.audit.put = realPut;
    });
    const lease = await db.stores.state.readLease(p.key);
    // Act: after the lease expires, the next evaluation takes it.
    clock += 300 + 30_000 + 1;
    const next = await evaluate([p], { type: 'schedule' }, db.stores, { ...options, now: () => clock });
    // Assess
    expect(crashed.records[0]).toMatchObject({ status: 'Failed' });
    expect(crashed.records[0]!.error).toMatch(/timed out after 300 ms while acting/);
    expect(lease?.intent).toMatchObject({ desiredReplicas: 4, action: 'scaleOut' });
    const audit = await db.stores.audit.list({ target: p.key });
    const recovered = audit.find((r) => (r.details as { recovered?: boolean } | undefined)?.recovered);
    expect(recovered).toMatchObject({ status: 'Successful', activityId: (lease!.intent as { activityId: string }).activityId, desiredReplicas: 4 });
    const isRecovered = (r: { details?: unknown }) => (r.details as { recovered?: boolean } | undefined)?.recovered === true;
    expect(next.records.filter(isRecovered)).toHaveLength(1);
    expect(next.records.find((r) => !isRecovered(r))).toMatchObject({ status: 'NotScaled', currentReplicas: 4 });
    expect((await db.stores.state.readLease(p.key))?.intent).toBeUndefined();
  });

  it('a crash before the action took effect is recorded as Failed "interrupted"', async () => {
    // Prepare: a dead holder's intent that never reached the target.
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 0);
    const now = Date.now();
    await db.stores.state.acquireLease(p.key, 'dead#1', 1_000, now - 10_000);
    await db.stores.state.writeIntent(p.key, 'dead#1', {
      activityId: 'a-dead', policyId: p.policy.id, policyVersion: 1, target: p.key, trigger: { type: 'schedule' },
      action: 'scaleOut', currentReplicas: 1, rawDesired: 5, desiredReplicas: 5, startedAt: new Date(now - 10_000).toISOString(), owner: 'dead#1',
    });
    // Act: a scale-in decision needs the lease, so it finds the intent.
    target.replicas.set(p.key, 2);
    await evaluate([p], { type: 'schedule' }, db.stores, { ...options, now: () => now });
    // Assess
    const audit = await db.stores.audit.list({ target: p.key });
    expect(audit.find((r) => r.activityId === 'a-dead')).toMatchObject({ status: 'Failed', error: expect.stringMatching(/^interrupted: .*found 2 replicas, intended 5/) });
  });

  it('one failing target does not stop the others, and a hanging one times out', async () => {
    // Prepare
    const [ok, failing, hanging] = [stored(), stored(), stored()];
    for (const p of [ok, failing, hanging]) metrics.values.set(`queue:${p.key.split('/')[1]}`, 15);
    target.failing.add(failing.key);
    target.hanging.add(hanging.key);
    // Act
    const { records } = await evaluate([ok, failing, hanging], { type: 'schedule' }, db.stores, { ...options, targetTimeoutMs: 200 });
    // Assess
    const byTarget = Object.fromEntries(records.map((r) => [r.target, r]));
    expect(byTarget[ok.key]).toMatchObject({ status: 'Successful', desiredReplicas: 2 });
    expect(byTarget[failing.key]).toMatchObject({ status: 'Failed', error: expect.stringContaining(`cannot reach ${failing.key}`) });
    expect(byTarget[hanging.key]).toMatchObject({ status: 'Failed', error: 'timed out after 200 ms reading the target' });
  });

  it('bounded parallelism: never more targets at once than allowed', async () => {
    // Prepare
    const policies = Array.from({ length: 8 }, () => stored());
    let active = 0;
    let peak = 0;
    const describe = target.describe.bind(target);
    target.describe = async (request, ctx) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return describe(request, ctx);
    };
    // Act
    const { records } = await evaluate(policies, { type: 'schedule' }, db.stores, { ...options, parallelism: 3 });
    // Assess
    expect(records).toHaveLength(8);
    expect(peak).toBe(3);
  });

  it('several policies on one target: all audited, only the largest desired acts', async () => {
    // Prepare
    const service = `svc-${++serial}`;
    const low = { policy: Policy.parse(stepsPolicy('a-low', service, { metrics: [{ id: 'jobs', source: 'redis', endpoint: 'local', list: 'q-low' }] })), version: 1 };
    const high = { policy: Policy.parse(stepsPolicy('b-high', service, { metrics: [{ id: 'jobs', source: 'redis', endpoint: 'local', list: 'q-high' }] })), version: 1 };
    metrics.values.set('q-low', 15);
    metrics.values.set('q-high', 45);
    // Act
    const { records } = await evaluate([low, high], { type: 'schedule' }, db.stores, options);
    // Assess
    const byPolicy = Object.fromEntries(records.map((r) => [r.policyId, r]));
    expect(byPolicy['b-high']).toMatchObject({ status: 'Successful', desiredReplicas: 5 });
    expect(byPolicy['a-low']).toMatchObject({ status: 'NotScaled', notScaledReason: 'OverriddenByPolicy', details: { overriddenBy: 'b-high' } });
    expect(target.scaleCalls).toEqual([{ target: `memory/${service}`, desired: 5 }]);
  });

  it('applies Docker label overrides and audits rejected labels', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(`queue:${p.key.split('/')[1]}`, 95);
    target.labels.set(p.key, { 'autoscaler.max': '4', 'autoscaler.min': 'lots' });
    // Act
    const { records } = await evaluate([p], { type: 'schedule' }, db.stores, options);
    // Assess
    expect(records[0]).toMatchObject({ status: 'Successful', desiredReplicas: 4 });
    const labels = (records[0]!.details as { labels: { rejected: Array<{ label: string }> } }).labels;
    expect(labels.rejected.map((r) => r.label)).toEqual(['autoscaler.min']);
  });

  it('policiesForTrigger: an alarm gets only its bound policies, through a Query, never a Scan', async () => {
    // Prepare
    const bound = Policy.parse(stepsPolicy('bound-1', 'alarmed', { alarms: ['cpu-high'] }));
    const other = Policy.parse(stepsPolicy('unbound-1', 'quiet'));
    await db.stores.policies.put(bound, 0);
    await db.stores.policies.put(other, 0);
    db.sent.length = 0;
    // Act
    const forAlarm = await policiesForTrigger({ type: 'alarm', alarmName: 'cpu-high' }, db.stores.policies);
    const sent = [...db.sent];
    const forSchedule = await policiesForTrigger({ type: 'schedule' }, db.stores.policies);
    // Assess
    expect(forAlarm.map((p) => ('policy' in p ? p.policy.id : p.id))).toEqual(['bound-1']);
    expect(sent).toEqual(['QueryCommand', 'BatchGetCommand']);
    expect(forSchedule.map((p) => ('policy' in p ? p.policy.id : p.id))).toEqual(expect.arrayContaining(['bound-1', 'unbound-1']));
  });
});
