/**
 * Shards: which targets one worker evaluates. Pure (no I/O): the dispatcher feeds it the policy index.
 *
 * - Every policy of one target lands in the same shard (the lease and the choice of the acting
 *   policy are per target, so a target is never split across workers).
 * - Targets are ordered by a stable hash of their key (FNV-1a, 32 bit) and cut into consecutive
 *   runs: from tick to tick a target keeps its neighbours, and adding one target moves only the
 *   boundary next to it.
 * - A shard closes when it holds `targetsPerShard` targets, or when one more target would take its
 *   CloudWatch queries past `cloudWatchQueriesPerShard` (a multiple of GetMetricData's 500): a shard
 *   fills whole GetMetricData calls instead of paying a call for a few left-over queries.
 * - `targetsPerShard` is the smaller of the worker's budget (`maxTargetsPerShard`) and an even spread
 *   of the targets over the workers that may run at once (`workers`), so a tick uses the reserved
 *   concurrency instead of queueing shards behind each other.
 */
import type { IndexEntry } from '../state/policies.ts';

export type { IndexEntry };

export const getMetricDataQueriesPerCall = 500;

export interface ShardSizing {
  /** The most targets one worker evaluates within its time budget. */
  readonly maxTargetsPerShard: number;
  /** How many workers may run at once (the worker's reserved concurrency). */
  readonly workers: number;
  /** The most CloudWatch queries in one shard; rounded down to whole GetMetricData calls. */
  readonly cloudWatchQueriesPerShard: number;
}

export interface Shard {
  /** 0-based position in this tick's plan. */
  readonly index: number;
  readonly targets: readonly string[];
  readonly policies: ReadonlyArray<Pick<IndexEntry, 'id' | 'version'>>;
  readonly cloudWatchQueries: number;
}

/** Defaults documented in the README ("Fan-out"): 100 targets fit a 2-minute worker with 30 s per target. */
export const defaultShardSizing: ShardSizing = { maxTargetsPerShard: 100, workers: 50, cloudWatchQueriesPerShard: getMetricDataQueriesPerCall };

/** FNV-1a over the UTF-16 code units: stable across processes and releases (unlike a seeded hash). */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function checkShardSizing(sizing: ShardSizing): ShardSizing {
  const whole = (name: keyof ShardSizing, min: number, max: number) => {
    const value = sizing[name];
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}: ${value}; allowed: a whole number from ${min} to ${max}`);
  };
  whole('maxTargetsPerShard', 1, 1_000);
  whole('workers', 1, 1_000);
  whole('cloudWatchQueriesPerShard', getMetricDataQueriesPerCall, 100 * getMetricDataQueriesPerCall);
  return sizing;
}

/** Groups the index by target and cuts it into shards (see the module comment). */
export function planShards(entries: readonly IndexEntry[], sizing: ShardSizing = defaultShardSizing): Shard[] {
  checkShardSizing(sizing);
  const byTarget = new Map<string, IndexEntry[]>();
  for (const entry of entries) byTarget.set(entry.target, [...(byTarget.get(entry.target) ?? []), entry]);
  const targets = [...byTarget.keys()]
    .map((key) => ({ key, hash: stableHash(key) }))
    .sort((a, b) => a.hash - b.hash || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const targetsPerShard = Math.max(1, Math.min(sizing.maxTargetsPerShard, Math.ceil(targets.length / sizing.workers)));
  const queryLimit = Math.floor(sizing.cloudWatchQueriesPerShard / getMetricDataQueriesPerCall) * getMetricDataQueriesPerCall;

  const shards: Shard[] = [];
  let current: { targets: string[]; policies: Array<Pick<IndexEntry, 'id' | 'version'>>; cloudWatchQueries: number } | undefined;
  const close = () => {
    if (current && current.targets.length > 0) shards.push({ index: shards.length, ...current });
    current = undefined;
  };
  for (const { key } of targets) {
    const policies = [...byTarget.get(key)!].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const queries = policies.reduce((sum, p) => sum + p.cloudWatchQueries, 0);
    if (current && (current.targets.length >= targetsPerShard || (current.cloudWatchQueries > 0 && current.cloudWatchQueries + queries > queryLimit))) close();
    current ??= { targets: [], policies: [], cloudWatchQueries: 0 };
    current.targets.push(key);
    for (const p of policies) current.policies.push({ id: p.id, version: p.version });
    current.cloudWatchQueries += queries;
  }
  close();
  return shards;
}

/** Σ ceil(queries of a shard / 500): the fewest GetMetricData calls a tick with this plan can make. */
export function minimumGetMetricDataCalls(shards: readonly Shard[]): number {
  return shards.reduce((sum, s) => sum + Math.ceil(s.cloudWatchQueries / getMetricDataQueriesPerCall), 0);
}
