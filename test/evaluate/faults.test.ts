/**
 * Regression tests for issue 9's defects in the evaluation core, one `describe` per defect, on
 * dynalite (the real DynamoDB protocol) with the in-memory target and metric source of ./fakes.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as policyCli } from '../../cli/commands/policy.ts';
import { buildRecord, maxRecordBytes } from '../../shared/audit/build.ts';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { evaluate } from '../../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../../shared/evaluate/policies.ts';
import type { EvaluationOptions, StoredPolicy } from '../../shared/evaluate/types.ts';
import { openLocalStore } from '../../shared/local/store.ts';
import { parsePolicyText } from '../../shared/policy/load.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { limitsFor } from '../../shared/reconcile/deadline.ts';
import { documentClient, localClient } from '../../shared/state/client.ts';
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
  options = { registry: memoryRegistry(target, metrics), endpoints: noEndpoints, ceiling: 100, owner: 'faults', log: () => {} };
});

function stored(input = {}, service = `fault-${++serial}`): StoredPolicy & { key: string; list: string } {
  const policy = Policy.parse(stepsPolicy(`p-${service}`, service, input));
  return { policy, version: 1, key: `memory/${service}`, list: `queue:${service}` };
}

/** Polls a condition (no fixed sleep): resolves as soon as it holds. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const isRecovered = (r: { details?: unknown }) => (r.details as { recovered?: boolean } | undefined)?.recovered === true;

describe('defect 1: double action inside a cooldown', () => {
  it('an alarm that waited for the lease re-reads the behavior history under it: the cooldown holds and no scale event is lost', async () => {
    // Prepare: +2 per alarm with a 300 s cooldown; two different alarm messages at once.
    const p = stored({ rule: { type: 'stepAdjust', adjustments: [{ lower: 0, adjustment: 2 }], cooldownSeconds: 300 }, alarms: ['high'] });
    const alarm = (id: string) => ({ type: 'alarm' as const, id, messageId: id, alarmName: 'high', alarm: { name: 'high', state: 'ALARM' as const, threshold: 10, value: 15 } });
    let open!: () => void;
    target.gate = new Promise((resolve) => (open = resolve));
    // Act: the first takes the lease and holds in scale(); the second has decided (with the old history) and waits.
    const first = evaluate([p], alarm(`one-${p.key}`), db.stores, options);
    await until(() => target.scaleCalls.length === 1, 'the first alarm to act');
    const second = evaluate([p], alarm(`two-${p.key}`), db.stores, options);
    await until(() => target.describeCalls >= 3, 'the second alarm to read the target');
    open();
    const [a, b] = await Promise.all([first, second]);
    // Assess
    expect(a.records[0]).toMatchObject({ status: 'Successful', action: 'scaleOut', desiredReplicas: 3 });
    expect(b.records[0]).toMatchObject({ status: 'NotScaled', notScaledReason: 'Cooldown', currentReplicas: 3 });
    expect(target.scaleCalls).toEqual([{ target: p.key, desired: 3 }]);
    const history = await db.stores.state.readHistory(p.policy.id);
    expect(history.history.events).toHaveLength(1);
    expect(history.history.lastScaleOutAt).toBeGreaterThan(0);
  });
});

describe('defect 2: an action with no audit record, and nothing to recover it', () => {
  it('a ~200 KB autoscaler.* label is truncated and marked, so the record of the action is stored', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(p.list, 25);
    target.labels.set(p.key, { 'autoscaler.min': 'x'.repeat(200_000) });
    // Act
    const { records } = await evaluate([p], { type: 'schedule' }, db.stores, options);
    // Assess
    expect(target.scaleCalls).toEqual([{ target: p.key, desired: 3 }]);
    const audit = await db.stores.audit.list({ target: p.key });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ status: 'Successful', action: 'scaleOut', activityId: records[0]!.activityId });
    const rejected = (audit[0]!.details as { labels: { rejected: Array<{ value: string }> } }).labels.rejected[0]!;
    expect(rejected.value.length).toBeLessThan(3_000);
    expect(rejected.value).toMatch(/\[truncated, 200000 chars\]$/);
    expect((audit[0]!.details as { bounded: string[] }).bounded.join('\n')).toMatch(/labels\.rejected\[0\]\.value: truncated from 200000 chars/);
    expect(Buffer.byteLength(JSON.stringify(audit[0]))).toBeLessThan(maxRecordBytes);
  });

  it('throttling that outlasts the SDK retries: the record stays in the intent and the next evaluation stores it (details.recovered)', async () => {
    // Prepare: the audit table refuses the action's record once, as DynamoDB does after the SDK gave up retrying.
    const p = stored();
    metrics.values.set(p.list, 25);
    const realPut = db.stores.audit.put.bind(db.stores.audit);
    let refused = 0;
    db.stores.audit.put = async (record) => {
      if (record.status === 'Successful' && !isRecovered(record) && refused === 0) {
        refused++;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
      }
      return realPut(record);
    };
    // Act
    const first = await evaluate([p], { type: 'schedule' }, db.stores, options).finally(() => {
      db.stores.audit.put = realPut;
    });
    const leaseAfterFirst = await db.stores.state.readLease(p.key);
    const next = await evaluate([p], { type: 'schedule' }, db.stores, options);
    // Assess
    expect(refused).toBe(1);
    expect(target.scaleCalls).toEqual([{ target: p.key, desired: 3 }]);
    expect(first.records).toEqual([]);
    expect(leaseAfterFirst).toMatchObject({ leaseUntil: 0, intent: { completed: { status: 'Successful', desiredReplicas: 3 } } });
    const recovered = next.records.find(isRecovered);
    expect(recovered).toMatchObject({ status: 'Successful', action: 'scaleOut', currentReplicas: 1, desiredReplicas: 3, activityId: (leaseAfterFirst!.intent as { activityId: string }).activityId });
    const audit = await db.stores.audit.list({ target: p.key });
    expect(audit.filter((r) => r.action === 'scaleOut')).toHaveLength(1);
    expect((await db.stores.state.readLease(p.key))?.intent).toBeUndefined();
  });

  it('a Redis integer too large for a double (Infinity) is stored as null with a note, and read as missing, not as huge', async () => {
    // Prepare
    const p = stored();
    metrics.values.set(p.list, Number.POSITIVE_INFINITY);
    // Act
    const { records } = await evaluate([p], { type: 'schedule' }, db.stores, options);
    // Assess
    expect(target.scaleCalls).toEqual([]);
    const audit = await db.stores.audit.list({ target: p.key });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ status: 'NotScaled', notScaledReason: 'MissingMetric', inputs: [{ metric: 'jobs', value: null }] });
    expect((audit[0]!.details as { bounded: string[] }).bounded).toContain('inputs[0].value: Infinity stored as null');
    expect((audit[0]!.details as { metricErrors: Record<string, string> }).metricErrors.jobs).toMatch(/Infinity, not a finite number/);
    expect(records[0]!.activityId).toBe(audit[0]!.activityId);
  });

  it('the one builder bounds any record: non-finite numbers anywhere, long strings, long arrays', () => {
    // Act
    const record = buildRecord({
      policyId: 'p',
      policyVersion: 1,
      target: 't',
      trigger: { type: 'schedule' },
      action: 'none',
      status: 'NotScaled',
      rawDesired: Number.NaN,
      details: { response: 'y'.repeat(10_000), list: Array.from({ length: 500 }, (_, i) => i), nested: { value: Number.NEGATIVE_INFINITY } },
      startedAt: '2026-12-01T00:00:00.000Z',
    });
    // Assess
    expect(record.rawDesired).toBeNull();
    expect((record.details as { nested: { value: unknown } }).nested.value).toBeNull();
    expect((record.details as { list: unknown[] }).list).toHaveLength(100);
    expect((record.details as { bounded: string[] }).bounded).toEqual([
      'rawDesired: NaN stored as null',
      'details.response: truncated from 10000 chars',
      'details.list: 400 of 500 items left out',
      'details.nested.value: -Infinity stored as null',
    ]);
  });
});

describe('defect 3: one stored policy that no longer validates halts everything', () => {
  it('the invalid policy is skipped with its own PolicyInvalid record; the others are evaluated; a newer writer\'s unknown field is ignored and reported', async () => {
    // Prepare: one document the schema now rejects, one with a field from a newer writer, one valid.
    const good = stored();
    const newer = stored();
    metrics.values.set(good.list, 25);
    metrics.values.set(newer.list, 0);
    await db.stores.policies.put(good.policy, 0);
    const raw = (id: string, document: unknown) =>
      db.doc.send(new PutCommand({ TableName: db.names.policies, Item: { pk: 'policies', sk: `policy#${id}`, id, version: 3, enabled: true, document: JSON.stringify(document), updatedAt: '2026-11-30T00:00:00.000Z' } }));
    const brokenDocument = { ...stepsPolicy('broken-1', 'broken-svc'), rule: { type: 'steps', metric: 'nope', steps: [[0, 1]] } };
    await raw('broken-1', brokenDocument);
    await raw(newer.policy.id, { ...newer.policy, futureField: { a: 1 } });
    // Act
    const selected = await policiesForTrigger({ type: 'schedule' }, db.stores.policies);
    const { records } = await evaluate(selected, { type: 'schedule', id: `tick-invalid-${serial}` }, db.stores, options);
    // Assess
    const byPolicy = Object.fromEntries(records.map((r) => [r.policyId, r]));
    expect(byPolicy['broken-1']).toMatchObject({ status: 'NotScaled', notScaledReason: 'PolicyInvalid', policyVersion: 3, target: 'memory/broken-svc' });
    expect((byPolicy['broken-1']!.details as { problems: string[] }).problems.join('\n')).toMatch(/rule/);
    expect(byPolicy[good.policy.id]).toMatchObject({ status: 'Successful', desiredReplicas: 3 });
    expect(byPolicy[newer.policy.id]).toMatchObject({ status: 'NotScaled' });
    expect((await db.stores.policies.get(newer.policy.id))?.ignoredFields).toEqual(['futureField']);
  });

  it('the CLI lists it marked invalid with the messages, gets it, overwrites it with apply, and deletes it', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'invalid-policy-'));
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' ')));
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const cli = async (...args: string[]) => {
      out.length = 0;
      const code = await policyCli([...args, '--local', join(dir, 'store')]);
      return { code, text: out.join('\n') };
    };
    try {
      const local = await openLocalStore(join(dir, 'store'));
      try {
        await local.stores.policies.put(Policy.parse(stepsPolicy('fine', 'fine-svc')), 0);
        const document = { ...stepsPolicy('old', 'old-svc', { alarms: ['old-high'] }), rule: { type: 'steps', metric: 'jobs', steps: 'not steps at all' } };
        const client = localClient(local.endpoint);
        await documentClient(client).send(new PutCommand({ TableName: local.stores.policies.tableName, Item: { pk: 'policies', sk: 'policy#old', id: 'old', version: 2, enabled: true, document: JSON.stringify(document), updatedAt: '2026-11-30T00:00:00.000Z' } }));
        client.destroy();
      } finally {
        await local.close();
      }
      // Act
      const listed = await cli('list');
      const got = await cli('get', 'old');
      const file = join(dir, 'old.yaml');
      await writeFile(file, `${stepsYaml('old', 'old-svc')}`);
      const applied = await cli('apply', '-f', file);
      const relisted = await cli('list');
      const deleted = await cli('delete', 'old');
      const finalList = await cli('list', '--json');
      // Assess
      expect(listed.code).toBe(0);
      expect(listed.text).toMatch(/old\s+2\s+INVALID\s+memory\/old-svc/);
      expect(listed.text).toMatch(/old \(version 2\) no longer validates/);
      expect(listed.text).toMatch(/rule\.steps/);
      expect(got).toMatchObject({ code: 0 });
      expect(got.text).toMatch(/# INVALID: rule\.steps/);
      expect(got.text).toMatch(/not steps at all/);
      expect(applied.code).toBe(0);
      expect(applied.text).toMatch(/~ old \(changed, version 2 → 3\)/);
      expect(relisted.text).not.toMatch(/INVALID/);
      expect(deleted).toMatchObject({ code: 0 });
      expect((JSON.parse(finalList.text) as Array<{ id: string }>).map((p) => p.id)).toEqual(['fine']);
    } finally {
      vi.restoreAllMocks();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function stepsYaml(id: string, service: string): string {
  return `id: ${id}
target: { type: docker, endpoint: local, service: ${service} }
capacity: { min: 1, max: 10 }
metrics: [{ id: jobs, source: redis, endpoint: local, list: "queue:${service}" }]
rule: { type: steps, metric: jobs, steps: "0=1 10=2" }
`;
}

describe('defect 4: slow-starting services are never scaled', () => {
  it('the schema caps the time limits, naming the field and the limit', () => {
    // Act
    const { errors } = parsePolicyText(
      `${stepsYaml('slow', 'slow-svc').replace('service: slow-svc }', 'service: slow-svc, startTimeoutSeconds: 900, stopGraceSeconds: 600 }')}loadBalancer: { type: haproxy, endpoint: lb, backend: web, port: 80, drainTimeoutSeconds: 3600 }\n`,
      'slow.yaml',
    );
    // Assess
    const text = errors.map((e) => `${e.path}: ${e.message}`).join('\n');
    expect(text).toMatch(/target\.startTimeoutSeconds: .*600/);
    expect(text).toMatch(/target\.stopGraceSeconds: .*120/);
    expect(text).toMatch(/loadBalancer\.drainTimeoutSeconds: .*600/);
  });

  it('the deadline and the lease follow from the policy: a 120 s start fits, and the caps fit the 900 s function timeout', () => {
    // Prepare
    const slow = Policy.parse(stepsPolicy('slow', 'slow-svc', { target: { type: 'docker', endpoint: 'local', service: 'slow-svc', startTimeoutSeconds: 120 } }));
    const capped = Policy.parse({
      ...stepsPolicy('capped', 'capped-svc', { target: { type: 'docker', endpoint: 'local', service: 'capped-svc', startTimeoutSeconds: 600, stopGraceSeconds: 120 } }),
      loadBalancer: { type: 'haproxy', endpoint: 'lb', backend: 'web', port: 80, drainTimeoutSeconds: 600 },
    });
    // Act
    const slowLimits = limitsFor([slow]);
    const cappedLimits = limitsFor([capped]);
    // Assess
    expect(slowLimits.deadlineMs).toBeGreaterThan(120_000 + slowLimits.readMs);
    expect(slowLimits.leaseMs).toBeGreaterThan(slowLimits.deadlineMs);
    expect(cappedLimits.deadlineMs).toBeLessThanOrEqual(900_000 - 60_000);
  });

  it('a Failed record says what was attempted: action and desired replicas', async () => {
    // Prepare: the scale never finishes within the target's limit.
    const p = stored();
    metrics.values.set(p.list, 25);
    target.gate = new Promise(() => {});
    // Act
    const { records } = await evaluate([p], { type: 'schedule' }, db.stores, { ...options, targetTimeoutMs: 300 });
    // Assess
    expect(records[0]).toMatchObject({ status: 'Failed', action: 'scaleOut', currentReplicas: 1, desiredReplicas: 3 });
    expect(records[0]!.error).toMatch(/while acting/);
  });
});

describe('defect 6: two actors after a lease expires', () => {
  it('a lease never expires while its holder may still act: it is renewed, so a later evaluation records LeaseHeld instead of acting', async () => {
    // Prepare: the holder stays in scale() while the clock passes its lease's original expiry.
    const p = stored();
    metrics.values.set(p.list, 25);
    let clock = Date.now();
    const timed = { ...options, now: () => clock, leaseRenewalMs: 20 };
    let open!: () => void;
    target.gate = new Promise((resolve) => (open = resolve));
    // Act
    const holder = evaluate([p], { type: 'schedule', id: `hold-${p.key}` }, db.stores, timed);
    await until(() => target.scaleCalls.length === 1, 'the holder to act');
    const granted = Number((await db.stores.state.readLease(p.key))?.leaseUntil);
    clock = granted + 1;
    await until(async () => Number((await db.stores.state.readLease(p.key))?.leaseUntil) > clock, 'a renewal');
    const second = await evaluate([p], { type: 'schedule', id: `late-${p.key}` }, db.stores, timed);
    open();
    const first = await holder;
    // Assess
    expect(second.records[0]).toMatchObject({ status: 'NotScaled', notScaledReason: 'LeaseHeld' });
    expect(first.records[0]).toMatchObject({ status: 'Successful' });
    expect(target.scaleCalls).toHaveLength(1);
  });
});

describe('defect 7: one dead host delays everyone', () => {
  let blackHole: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    blackHole = createServer((socket) => void sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('a black-holed Docker host fails only its own target; a healthy target is decided, acted on and audited without waiting for it', async () => {
    // Prepare: the real Docker target for the black-holed host, the memory target for the healthy one.
    const port = (blackHole.address() as AddressInfo).port;
    const healthy = stored();
    metrics.values.set(healthy.list, 25);
    const dead = { policy: Policy.parse(stepsPolicy('dead-host', 'dead-svc', { target: { type: 'docker', endpoint: 'blackhole', service: 'dead-svc' } })), version: 1 };
    // The memory target serves the healthy policy; the dead host's goes to the registered (real) Docker target.
    const registry = memoryRegistry(target, metrics);
    const endpoints = { ...noEndpoints, docker: { blackhole: { host: `tcp://127.0.0.1:${port}` } } };
    const healthyDone: number[] = [];
    const realPut = db.stores.audit.put.bind(db.stores.audit);
    const started = Date.now();
    db.stores.audit.put = async (record) => {
      const stored = await realPut(record);
      if (record.target === healthy.key) healthyDone.push(Date.now() - started);
      return stored;
    };
    // Act
    const { records } = await evaluate([dead, healthy], { type: 'schedule' }, db.stores, { ...options, registry, endpoints, readTimeoutMs: 3_000 }).finally(() => {
      db.stores.audit.put = realPut;
    });
    // Assess
    const byPolicy = Object.fromEntries(records.map((r) => [r.policyId, r]));
    expect(byPolicy[healthy.policy.id]).toMatchObject({ status: 'Successful', desiredReplicas: 3 });
    expect(byPolicy['dead-host']).toMatchObject({ status: 'Failed', error: expect.stringMatching(/reading the target/) });
    // The healthy target's record was stored before the dead host's read gave up.
    expect(healthyDone[0]).toBeLessThan(3_000);
  });
});

describe('defect 8: policy delete racing policy apply', () => {
  it('a delete that removes bindings after a re-create keeps the re-created policy\'s alarm binding', async () => {
    // Prepare: apply a policy bound to an alarm; the delete is interleaved with a re-create right after its conditional delete.
    const policy = Policy.parse(stepsPolicy('raced', 'raced-svc', { alarms: ['raced-high'] }));
    await db.stores.policies.put(policy, 0);
    const send = db.doc.send.bind(db.doc) as (command: unknown) => Promise<unknown>;
    let recreated = false;
    (db.doc as unknown as { send: typeof send }).send = async (command: unknown) => {
      const result = await send(command);
      const input = (command as { input?: { Key?: { sk?: string; pk?: string } } }).input;
      if (!recreated && command?.constructor?.name === 'DeleteCommand' && input?.Key?.pk === 'policies' && input.Key.sk === 'policy#raced') {
        recreated = true;
        await db.stores.policies.put(policy, 0);
      }
      return result;
    };
    // Act
    try {
      await db.stores.policies.delete('raced');
    } finally {
      (db.doc as unknown as { send: typeof send }).send = send;
    }
    // Assess
    expect(recreated).toBe(true);
    expect((await db.stores.policies.forAlarm('raced-high')).map((p) => p.policy.id)).toEqual(['raced']);
  });
});
