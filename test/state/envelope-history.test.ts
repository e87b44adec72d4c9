/**
 * The envelope rule's state lives in the behavior history item (dynalite, the real DynamoDB API):
 * after a month of simulated minutes it stays far under DynamoDB's 400 KB item limit, and a
 * decision from the stored and read-back history is the one the in-memory history gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../../shared/engine/decide.ts';
import { emptyHistory, type BehaviorHistory } from '../../shared/engine/types.ts';
import { maxRises } from '../../shared/engine/envelope.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { startTestStores, type TestStores } from './setup.ts';

let db: TestStores;
beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
});

const itemLimitBytes = 400 * 1024;
const minute = 60_000;
const start = Date.UTC(2026, 0, 1);

const envelopePolicy = (id: string) =>
  Policy.parse({
    id,
    target: { type: 'kubernetes', cluster: 'prod', namespace: 'web', kind: 'Deployment', name: id },
    capacity: { min: 1, max: 1000 },
    metrics: [{ id: 'requests', source: 'cloudwatch', namespace: 'AWS/ApplicationELB', name: 'RequestCount', stat: 'Sum' }],
    // The longest memory the schema allows for two periods, so rises pile up to their cap.
    rule: { type: 'envelope', metric: 'requests', perReplica: 1000, deviationSeconds: 7200, meanSeconds: 7200, bursts: [{ periodSeconds: 1800, remember: 1000 }, { periodSeconds: 86_400, remember: 7 }] },
  });

/**
 * An upper bound of an item's size as DynamoDB counts it (AWS docs, "Item sizes and formats"):
 * attribute names and strings by their UTF-8 bytes, a number at most 21 bytes, a list or map 3 bytes
 * plus 1 per element plus its elements (a map's keys counted as names).
 */
function itemSizeBound(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return 21;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + itemSizeBound(v), 0);
  if (typeof value === 'object') return 3 + Object.entries(value as object).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + itemSizeBound(v), 0);
  return 0;
}

/** A month of minutes: noisy, with a 4× burst every 37 minutes (a new phase each time: many rises to remember). */
function monthOfLoad(): number[] {
  let seed = 3;
  return Array.from({ length: 30 * 24 * 60 }, (_, m) => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    const noise = (seed / 2 ** 32 - 0.5) * 400;
    return Math.round((m % 37 < 5 ? 8000 : 2000) + noise);
  });
}

describe('envelope history in the state table (dynalite)', () => {
  it('stays under the 400 KB item limit after a month of simulated minutes and reads back to the same decision', async () => {
    // Prepare: a month through decide, one datapoint a minute.
    const policy = envelopePolicy('envelope-month');
    let history: BehaviorHistory = emptyHistory;
    let replicas = 1;
    const load = monthOfLoad();
    load.forEach((value, i) => {
      const now = start + (i + 1) * minute;
      const decision = decide({ policy, currentReplicas: replicas, metrics: { requests: { value, timestamp: now - minute } }, now, history, ceiling: 10_000 });
      history = decision.history;
      replicas = decision.desiredReplicas;
    });
    // Act: saved and read back as the functions do.
    await db.stores.state.saveHistory(policy.id, history, start + load.length * minute);
    const stored = await db.stores.state.readHistory(policy.id);
    // Assess: bounded (values of the 2-hour window + margin, rises at their cap), well under the limit.
    const state = stored.history.envelope!.requests!;
    expect(state.values.length).toBe(122);
    expect(state.rises.length).toBe(maxRises);
    const itemBytes = itemSizeBound({ pk: `history#${policy.id}`, sk: 'behavior', history: stored.history, version: stored.version, expiresAt: 0 });
    expect(itemBytes).toBeLessThan(itemLimitBytes / 4);
    const now = start + (load.length + 1) * minute;
    const next = { policy, currentReplicas: replicas, metrics: { requests: { value: 8000, timestamp: now - minute } }, now, ceiling: 10_000 };
    expect(decide({ ...next, history: stored.history })).toEqual(decide({ ...next, history }));
  });
});
