/**
 * The scheduled function's work: read the compact policy index, cut it into shards
 * (./shards.ts) and send one message per shard. A small deployment (at most
 * `inProcessMaxTargets` targets), or one without a queue (local mode without fan-out), evaluates
 * in-process instead: the same shard message, handed to the same `runShard`.
 */
import type { IndexEntry } from '../state/policies.ts';
import type { ShardMessage } from './message.ts';
import { planShards, type Shard, type ShardSizing } from './shards.ts';
import type { ShardOutcome } from './worker.ts';

/** Up to this many targets a tick is evaluated in the dispatcher itself (README, "Fan-out"). */
export const defaultInProcessMaxTargets = 200;

export interface ShardQueue {
  /** Sends every message or throws naming the shards that were not sent. */
  send(messages: readonly ShardMessage[]): Promise<void>;
}

export interface PolicyIndex {
  listIndex(): Promise<readonly IndexEntry[]>;
}

export interface Tick {
  readonly id: string;
  /** When the tick fired, epoch ms. */
  readonly at: number;
  readonly intervalMs: number;
  /** Default schedule. */
  readonly trigger?: 'schedule' | 'manual';
}

export interface DispatchDependencies {
  readonly index: PolicyIndex;
  /** Absent: every tick is evaluated in-process. */
  readonly queue?: ShardQueue;
  readonly sizing: ShardSizing;
  readonly inProcessMaxTargets: number;
  /** Evaluates one shard in this process (./worker.ts `runShard` with the dispatcher's stores). */
  readonly runInProcess: (message: ShardMessage) => Promise<ShardOutcome>;
}

export type DispatchResult =
  | { readonly mode: 'in-process'; readonly policies: number; readonly targets: number; readonly shards: 1 | 0; readonly outcome?: ShardOutcome }
  | { readonly mode: 'queue'; readonly policies: number; readonly targets: number; readonly shards: number };

export async function dispatchTick(tick: Tick, deps: DispatchDependencies): Promise<DispatchResult> {
  const entries = await deps.index.listIndex();
  const targets = new Set(entries.map((e) => e.target)).size;
  if (entries.length === 0) return { mode: 'in-process', policies: 0, targets: 0, shards: 0 };
  if (!deps.queue || targets <= deps.inProcessMaxTargets) {
    // One shard holding everything: the same message a worker would get.
    const all: Shard = {
      index: 0,
      targets: [...new Set(entries.map((e) => e.target))].sort(),
      policies: entries.map((e) => ({ id: e.id, version: e.version })),
      cloudWatchQueries: entries.reduce((sum, e) => sum + e.cloudWatchQueries, 0),
    };
    const outcome = await deps.runInProcess(toMessage(tick, all, 1));
    return { mode: 'in-process', policies: entries.length, targets, shards: 1, outcome };
  }
  const shards = planShards(entries, deps.sizing);
  await deps.queue.send(shards.map((s) => toMessage(tick, s, shards.length)));
  return { mode: 'queue', policies: entries.length, targets, shards: shards.length };
}

export function toMessage(tick: Tick, shard: Shard, count: number): ShardMessage {
  return {
    tickId: tick.id,
    ...(tick.trigger && tick.trigger !== 'schedule' ? { trigger: tick.trigger } : {}),
    tickAt: tick.at,
    intervalMs: tick.intervalMs,
    shard: shard.index,
    shards: count,
    targets: [...shard.targets],
    policies: shard.policies.map((p) => ({ id: p.id, version: p.version })),
  };
}
