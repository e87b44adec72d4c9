import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../shared/audit/record.ts';
import { StalePolicyError } from '../../shared/state/policies.ts';
import { defaultAuditRetentionDays } from '../../shared/state/tables.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { stepsPolicy } from '../evaluate/fakes.ts';
import { startTestStores, type TestStores } from './setup.ts';

let db: TestStores;
beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
});

function auditRecord(fields: Partial<AuditRecord> & Pick<AuditRecord, 'target' | 'policyId' | 'startedAt'>): AuditRecord {
  return {
    activityId: crypto.randomUUID(),
    policyVersion: 1,
    trigger: { type: 'schedule' },
    inputs: [],
    currentReplicas: 1,
    rawDesired: 1,
    desiredReplicas: 1,
    action: 'none',
    status: 'NotScaled',
    notScaledReason: 'AtDesired',
    endedAt: fields.startedAt,
    ...fields,
  };
}

describe('policy store (dynalite)', () => {
  it('keeps versions and rejects a stale write instead of losing it', async () => {
    // Prepare
    const v1 = Policy.parse(stepsPolicy('versioned', 'versioned'));
    await db.stores.policies.put(v1, 0);
    const readByAlice = await db.stores.policies.get('versioned');
    const readByBob = await db.stores.policies.get('versioned');
    // Act
    const aliceVersion = await db.stores.policies.put({ ...v1, capacity: { min: 1, max: 5 } }, readByAlice!.version);
    const bobWrite = db.stores.policies.put({ ...v1, capacity: { min: 2, max: 8 } }, readByBob!.version);
    // Assess
    expect(aliceVersion).toBe(2);
    await expect(bobWrite).rejects.toBeInstanceOf(StalePolicyError);
    await expect(bobWrite).rejects.toThrow(/changed or deleted by someone else since version 1/);
    const now = await db.stores.policies.get('versioned');
    expect(now).toMatchObject({ version: 2, policy: { capacity: { min: 1, max: 5 } } });
    await expect(db.stores.policies.put(v1, 0)).rejects.toThrow(/created by someone else/);
  });

  it('moves alarm bindings with the policy and removes them on delete', async () => {
    // Prepare
    const p = Policy.parse(stepsPolicy('bound', 'bound', { alarms: ['a1', 'a2'] }));
    await db.stores.policies.put(p, 0);
    // Act
    await db.stores.policies.put({ ...p, alarms: ['a2', 'a3'] }, 1, ['a1', 'a2']);
    const afterChange = await Promise.all(['a1', 'a2', 'a3'].map(async (a) => (await db.stores.policies.forAlarm(a)).length));
    await db.stores.policies.delete('bound');
    const afterDelete = await Promise.all(['a1', 'a2', 'a3'].map(async (a) => (await db.stores.policies.forAlarm(a)).length));
    // Assess
    expect(afterChange).toEqual([0, 1, 1]);
    expect(afterDelete).toEqual([0, 0, 0]);
    expect(await db.stores.policies.get('bound')).toBeUndefined();
  });
});

describe('audit store (dynalite)', () => {
  it('sets the TTL attribute from the retention (default 400 days)', async () => {
    // Prepare
    const record = auditRecord({ target: 'docker/x/ttl', policyId: 'ttl', startedAt: '2026-01-01T00:00:00.000Z' });
    // Act
    await db.stores.audit.put(record);
    // Assess
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.names.audit, Key: { target: 'docker/x/ttl', at: `${record.startedAt}#${record.activityId}` } }));
    expect(defaultAuditRetentionDays).toBe(400);
    expect(Item?.expiresAt).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000 + 400 * 86_400);
  });

  it('writes the same activity once (a recovery racing the original record)', async () => {
    // Prepare
    const record = auditRecord({ target: 'docker/x/once', policyId: 'once', startedAt: '2026-01-01T00:00:00.000Z' });
    // Act
    const first = await db.stores.audit.put(record);
    const second = await db.stores.audit.put({ ...record, status: 'Failed' });
    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(await db.stores.audit.list({ target: 'docker/x/once' })).toMatchObject([{ status: 'NotScaled' }]);
  });

  it('answers "this target, newest first, since T" and "this policy since T" with Queries, never a Scan', async () => {
    // Prepare: two targets, two policies, one record per hour for 6 hours.
    const base = Date.parse('2026-03-01T00:00:00Z');
    for (let h = 0; h < 6; h++) {
      const startedAt = new Date(base + h * 3_600_000).toISOString();
      await db.stores.audit.put(auditRecord({ target: 'docker/q/a', policyId: 'qa', startedAt, status: h % 2 ? 'Successful' : 'NotScaled', action: h % 2 ? 'scaleOut' : 'none' }));
      await db.stores.audit.put(auditRecord({ target: 'docker/q/b', policyId: 'qb', startedAt }));
    }
    db.sent.length = 0;
    // Act
    const byTarget = await db.stores.audit.list({ target: 'docker/q/a', from: base + 3 * 3_600_000 });
    const byPolicy = await db.stores.audit.list({ policyId: 'qb', from: base + 4 * 3_600_000, order: 'oldest' });
    const filtered = await db.stores.audit.list({ target: 'docker/q/a', status: 'Successful', action: 'scaleOut' });
    const window = await db.stores.audit.list({ from: base + 3_600_000, to: base + 2 * 3_600_000 });
    // Assess
    expect(byTarget.map((r) => r.startedAt.slice(11, 13))).toEqual(['05', '04', '03']);
    expect(byPolicy.map((r) => r.startedAt.slice(11, 13))).toEqual(['04', '05']);
    expect(filtered.map((r) => r.startedAt.slice(11, 13))).toEqual(['05', '03', '01']);
    expect(window).toHaveLength(4);
    expect(db.sent.every((name) => name === 'QueryCommand')).toBe(true);
    expect(db.sent).not.toContain('ScanCommand');
  });

  it('pages past DynamoDB\'s 1 MB pages', async () => {
    // Prepare: 60 records of ~40 KB = ~2.4 MB in one partition.
    const padding = 'x'.repeat(40_000);
    const base = Date.parse('2026-04-01T00:00:00Z');
    for (let i = 0; i < 60; i++) {
      await db.stores.audit.put(auditRecord({ target: 'docker/big/a', policyId: 'big', startedAt: new Date(base + i * 1000).toISOString(), details: { padding } }));
    }
    db.sent.length = 0;
    // Act
    const all = await db.stores.audit.list({ target: 'docker/big/a' });
    // Assess
    expect(all).toHaveLength(60);
    expect(db.sent.filter((n) => n === 'QueryCommand').length).toBeGreaterThanOrEqual(3);
    expect(all[0]!.startedAt > all[59]!.startedAt).toBe(true);
  });
});

describe('state store (dynalite)', () => {
  it('a lease is exclusive until it expires, and only its owner releases it', async () => {
    // Prepare
    const now = Date.now();
    // Act
    const first = await db.stores.state.acquireLease('docker/l/a', 'one', 1_000, now);
    const second = await db.stores.state.acquireLease('docker/l/a', 'two', 1_000, now + 500);
    await db.stores.state.releaseLease('docker/l/a', 'two');
    const stillHeld = await db.stores.state.acquireLease('docker/l/a', 'three', 1_000, now + 900);
    const afterExpiry = await db.stores.state.acquireLease('docker/l/a', 'four', 1_000, now + 1_001);
    // Assess
    expect(first.acquired).toBe(true);
    expect(second).toEqual({ acquired: false, holder: 'one', until: now + 1_000 });
    expect(stillHeld.acquired).toBe(false);
    expect(afterExpiry.acquired).toBe(true);
  });

  it('a trigger marker is won by exactly one of many concurrent callers', async () => {
    // Act
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => db.stores.state.markTrigger('msg-1', 'docker/t/a', { owner: `o${i}`, activityId: `a${i}` }, Date.now())));
    // Assess
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});

describe('plug-in state in the state table (dynalite)', () => {
  it('keeps values per namespace across store instances, lists by prefix, and forgets on delete', async () => {
    // Prepare
    const { DynamoPluginStateStore } = await import('../../shared/state/plugin-state.ts');
    const { LocalDataKeys } = await import('../../shared/state/sealing.ts');
    const keys = LocalDataKeys.ephemeral();
    const writer = new DynamoPluginStateStore(db.doc, db.names.state, keys).namespace('ps-a');
    const value = { nested: { map: { a: 1 } }, list: [1, 'two', null] };
    // Act
    await writer.set('svc/one', value);
    await writer.set('svc/two', 2);
    await writer.set('svc2/one', 3);
    await new DynamoPluginStateStore(db.doc, db.names.state, keys).namespace('ps-b').set('svc/one', 'other plug-in');
    const reader = new DynamoPluginStateStore(db.doc, db.names.state, keys).namespace('ps-a');
    const read = await reader.get('svc/one');
    const listed = await reader.list('svc/');
    await reader.delete('svc/two');
    // Assess
    expect(read).toEqual(value);
    expect([...listed]).toEqual([['svc/one', value], ['svc/two', 2]]);
    expect(await reader.get('svc/two')).toBeUndefined();
    expect(await reader.get('missing')).toBeUndefined();
    expect([...(await reader.list('')).keys()]).toEqual(['svc/one', 'svc2/one']);
  });

  it('a key DynamoDB cannot hold is refused with the namespace, the key and the limit', async () => {
    // Prepare
    const { DynamoPluginStateStore } = await import('../../shared/state/plugin-state.ts');
    const { LocalDataKeys } = await import('../../shared/state/sealing.ts');
    const state = new DynamoPluginStateStore(db.doc, db.names.state, LocalDataKeys.ephemeral()).namespace('ps-c');
    // Act
    const refused = await state.set('k'.repeat(1025), 1).then(() => 'stored', (err: Error) => err.message);
    // Assess
    expect(refused).toBe(`plug-in state of "ps-c": key "${'k'.repeat(80)}" is 1025 bytes; allowed: 1-1024 bytes`);
  });
});
