import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecord } from '../../shared/audit/build.ts';
import { TargetLease } from '../../shared/state/lease.ts';
import { startTestStores, type TestStores } from './setup.ts';

let db: TestStores;
beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
});

const options = (signal = new AbortController().signal) => ({ durationMs: 60_000, renewEveryMs: 20, waitMs: 0, signal, now: Date.now, log: () => {} });

describe('TargetLease (dynalite): acquire → intent → complete → release as one object', () => {
  it('a holder whose lease was taken by someone else is fenced: its signal aborts', async () => {
    // Prepare
    const taken = await TargetLease.acquire(db.stores, 'lease/fenced', 'first', options());
    if (!taken.acquired) throw new Error('the first acquire must succeed');
    const fenced = new Promise<unknown>((resolve) => taken.lease.signal.addEventListener('abort', () => resolve(taken.lease.signal.reason), { once: true }));
    // Act: someone whose clock says the lease expired takes it.
    const thief = await db.stores.state.acquireLease('lease/fenced', 'second', 60_000, Date.now() + 120_000);
    // Assess
    expect(thief.acquired).toBe(true);
    expect(String(await fenced)).toMatch(/lost the lease on lease\/fenced/);
    await taken.lease.release();
    expect((await db.stores.state.readLease('lease/fenced'))?.owner).toBe('second');
  });

  it('an intent whose record was stored is dropped on release; one whose put failed stays, with the final record', async () => {
    // Prepare
    const record = (target: string) =>
      buildRecord({ policyId: 'p', policyVersion: 1, target, trigger: { type: 'schedule' }, action: 'scaleOut', status: 'Successful', currentReplicas: 1, desiredReplicas: 2, startedAt: new Date().toISOString() });
    const realPut = db.stores.audit.put.bind(db.stores.audit);
    // Act
    const ok = await TargetLease.acquire(db.stores, 'lease/ok', 'a', options());
    const bad = await TargetLease.acquire(db.stores, 'lease/bad', 'b', options());
    if (!ok.acquired || !bad.acquired) throw new Error('both acquires must succeed');
    await ok.lease.recordIntent(record('lease/ok'));
    const stored = await ok.lease.complete(record('lease/ok'));
    await ok.lease.release();
    await bad.lease.recordIntent(record('lease/bad'));
    db.stores.audit.put = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    };
    const notStored = await bad.lease.complete(record('lease/bad')).finally(() => {
      db.stores.audit.put = realPut;
    });
    await bad.lease.release();
    const next = await TargetLease.acquire(db.stores, 'lease/bad', 'c', options());
    // Assess
    expect(stored).toBe(true);
    expect((await db.stores.state.readLease('lease/ok'))?.intent).toBeUndefined();
    expect(notStored).toBe(false);
    if (!next.acquired) throw new Error('the lease was released');
    expect(next.lease.staleIntent?.completed).toMatchObject({ status: 'Successful', desiredReplicas: 2 });
    const recovered = await next.lease.recoverStaleIntent(async () => 2, 'c');
    await next.lease.release();
    expect(recovered?.details).toMatchObject({ recovered: true });
    expect((await db.stores.audit.list({ target: 'lease/bad' })).map((r) => r.activityId)).toEqual([recovered!.activityId]);
  });
});
