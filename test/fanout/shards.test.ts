/** The shard planner (pure): targets stay whole, hashing is stable, shards fill whole GetMetricData calls. */
import { describe, expect, it } from 'vitest';
import { minimumGetMetricDataCalls, planShards, stableHash, type IndexEntry } from '../../shared/fanout/shards.ts';

function fleet(targets: number, policiesPerTarget: number, queriesPerPolicy = 1): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (let t = 0; t < targets; t++) {
    for (let p = 0; p < policiesPerTarget; p++) entries.push({ id: `p-${t}-${p}`, version: 1, target: `docker/host-${t % 37}/svc-${t}`, alarms: [], cloudWatchQueries: queriesPerPolicy });
  }
  return entries;
}

describe('planShards', () => {
  it('puts every policy of a target in the same shard, and every policy in exactly one shard', () => {
    const entries = fleet(500, 3);
    const shards = planShards(entries, { maxTargetsPerShard: 40, workers: 50, cloudWatchQueriesPerShard: 500 });
    const shardOf = new Map<string, number>();
    for (const shard of shards) for (const p of shard.policies) {
      expect(shardOf.has(p.id)).toBe(false);
      shardOf.set(p.id, shard.index);
    }
    expect(shardOf.size).toBe(entries.length);
    for (const entry of entries) expect(shardOf.get(entry.id)).toBe(shardOf.get(`p-${entry.id.split('-')[1]}-0`));
    for (const shard of shards) expect(new Set(shard.targets).size).toBe(shard.targets.length);
  });

  it('spreads the targets over the workers, capped by the per-shard budget', () => {
    expect(planShards(fleet(2_000, 5, 0), { maxTargetsPerShard: 100, workers: 50, cloudWatchQueriesPerShard: 500 })).toHaveLength(50);
    expect(planShards(fleet(2_000, 5, 0), { maxTargetsPerShard: 25, workers: 50, cloudWatchQueriesPerShard: 500 })).toHaveLength(80);
    expect(planShards(fleet(30, 1, 0), { maxTargetsPerShard: 100, workers: 50, cloudWatchQueriesPerShard: 500 })).toHaveLength(30);
  });

  it('closes a shard before its CloudWatch queries would spill into another GetMetricData call', () => {
    // 120 queries per target: four targets (480) fit one call of 500, a fifth would need a second.
    const shards = planShards(fleet(40, 4, 30), { maxTargetsPerShard: 100, workers: 1, cloudWatchQueriesPerShard: 500 });
    for (const shard of shards) expect(shard.cloudWatchQueries).toBeLessThanOrEqual(500);
    expect(shards.map((s) => s.targets.length)).toEqual(Array.from({ length: 10 }, () => 4));
    expect(minimumGetMetricDataCalls(shards)).toBe(10);
  });

  it('is stable: the same index gives the same plan, and a new target moves few others', () => {
    const sizing = { maxTargetsPerShard: 20, workers: 1_000, cloudWatchQueriesPerShard: 500 };
    const before = planShards(fleet(400, 2), sizing);
    expect(planShards([...fleet(400, 2)].reverse(), sizing)).toEqual(before);
    expect(stableHash('docker/edge-1/web')).toBe(stableHash('docker/edge-1/web'));
    expect(stableHash('docker/edge-1/web')).not.toBe(stableHash('docker/edge-1/api'));
  });

  it('rejects a sizing outside its bounds, naming the field, the value and what is allowed', () => {
    expect(() => planShards([], { maxTargetsPerShard: 0, workers: 1, cloudWatchQueriesPerShard: 500 })).toThrow('maxTargetsPerShard: 0; allowed: a whole number from 1 to 1000');
    expect(() => planShards([], { maxTargetsPerShard: 10, workers: 1, cloudWatchQueriesPerShard: 100 })).toThrow('cloudWatchQueriesPerShard: 100; allowed: a whole number from 500 to 50000');
  });
});
