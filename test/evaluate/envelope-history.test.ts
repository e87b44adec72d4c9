/**
 * The envelope rule's state goes through the evaluation as part of the behavior history: read with
 * it, saved with it (dynalite, in-memory target and metric source). Kept apart from evaluate.test.ts
 * so the evaluation's own tests can change freely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { evaluate } from '../../shared/evaluate/evaluate.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { Policy } from '../../shared/policy/schema.ts';
import { startTestStores, type TestStores } from '../state/setup.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from './fakes.ts';

let db: TestStores;
beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
});

/** Datapoints stamped one minute apart by `minute`, whatever the wall clock says. */
class MinuteMetrics extends MemoryMetrics {
  minute = 0;
  override async fetch(requests: Parameters<MemoryMetrics['fetch']>[0]) {
    const results = await super.fetch(requests);
    for (const [key, result] of results) if (result) results.set(key, { ...result, timestamp: Date.UTC(2026, 0, 1) + this.minute * 60_000 });
    return results;
  }
}

describe('evaluate: the envelope rule’s history (dynalite)', () => {
  it('reads the rule’s recent values with the behavior history and saves them with it, one per datapoint', async () => {
    // Prepare
    const target = new MemoryTarget();
    const metrics = new MinuteMetrics();
    const options = { registry: memoryRegistry(target, metrics), endpoints: noEndpoints, ceiling: 100, owner: 'test', log: () => {} };
    const service = `envelope-${crypto.randomUUID().slice(0, 8)}`;
    const policy = Policy.parse(stepsPolicy(`p-${service}`, service, { rule: { type: 'envelope', metric: 'jobs', perReplica: 10 } }));
    const stored = { policy, version: 1 };
    // Act: three evaluations, the load 20, 35, 35; the third reads its datapoint twice (an alarm in the same minute).
    const ticks = [[0, 20], [1, 35], [2, 35], [2, 35]] as const;
    for (const [i, [minute, value]] of ticks.entries()) {
      metrics.minute = minute;
      metrics.values.set(`queue:${service}`, value);
      await evaluate([stored], { type: 'schedule', id: `${service}-tick-${i}` }, db.stores, options);
    }
    // Assess
    const { history } = await db.stores.state.readHistory(policy.id);
    expect(history.envelope?.jobs?.values).toEqual([20, 35, 35]);
    expect(history.envelope?.jobs?.intervalMs).toBe(60_000);
    // Still warming up (3 values): the recent peak 35 at 0.85 of 10 per replica decides.
    expect(target.replicas.get(`memory/${service}`)).toBe(Math.ceil(35 / (0.85 * 10)));
  });

  it('a history with remembered bursts outlives a pause as long as the rule remembers them (TTL period × remember), a plain one 2 days', async () => {
    // Prepare: one policy that remembers daily rises for 7 days, one without burst memory.
    const target = new MemoryTarget();
    const metrics = new MinuteMetrics();
    const options = { registry: memoryRegistry(target, metrics), endpoints: noEndpoints, ceiling: 100, owner: 'test', log: () => {} };
    const service = `retention-${crypto.randomUUID().slice(0, 8)}`;
    const remembering = Policy.parse(stepsPolicy(`p-${service}-a`, `${service}-a`, { rule: { type: 'envelope', metric: 'jobs', perReplica: 10, bursts: [{ periodSeconds: 86_400, remember: 7 }] } }));
    const plain = Policy.parse(stepsPolicy(`p-${service}-b`, `${service}-b`, { rule: { type: 'envelope', metric: 'jobs', perReplica: 10, bursts: [] } }));
    for (const suffix of ['a', 'b']) metrics.values.set(`queue:${service}-${suffix}`, 20);
    const now = Date.now();
    // Act
    await evaluate([{ policy: remembering, version: 1 }, { policy: plain, version: 1 }], { type: 'schedule', id: `${service}-tick` }, db.stores, { ...options, now: () => now });
    // Assess: the items' TTL attribute (epoch seconds) as stored.
    const expiresIn = async (policyId: string) => {
      const { Item } = await db.doc.send(new GetCommand({ TableName: db.stores.state.tableName, Key: { pk: `history#${policyId}`, sk: 'behavior' } }));
      return Number(Item?.expiresAt) - Math.ceil(now / 1000);
    };
    expect(await expiresIn(remembering.id)).toBe(7 * 86_400);
    expect(await expiresIn(plain.id)).toBe(2 * 86_400);
  });
});

