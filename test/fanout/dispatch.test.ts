/**
 * The dispatcher's two paths, the in-process queue (local mode's SQS semantics), and the compact
 * policy index against dynalite (a real DynamoDB implementation).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchTick, type ShardQueue } from '../../shared/fanout/dispatcher.ts';
import { InProcessQueue } from '../../shared/fanout/in-process-queue.ts';
import type { ShardMessage } from '../../shared/fanout/message.ts';
import type { IndexEntry } from '../../shared/fanout/shards.ts';
import type { ShardOutcome } from '../../shared/fanout/worker.ts';
import { startDynalite, type RunningDynalite } from '../../shared/local/dynalite.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { executePlan, planApply } from '../../shared/state/apply.ts';
import { documentClient, localClient, storesFor, type Stores } from '../../shared/state/client.ts';
import { createTables } from '../../shared/state/create.ts';
import { localTableNames } from '../../shared/state/tables.ts';
import { stepsPolicy } from '../evaluate/fakes.ts';

const tick = { id: 'tick-1', at: 1_000_000, intervalMs: 60_000 };
const sizing = { maxTargetsPerShard: 10, workers: 50, cloudWatchQueriesPerShard: 500 };
const evaluated: ShardOutcome = { outcome: 'evaluated', policies: 0, records: 0, failures: 0, written: [], sinceTickMs: 0 };

function entries(targets: number): IndexEntry[] {
  return Array.from({ length: targets * 2 }, (_, i) => ({ id: `p${i}`, version: 1, target: `docker/h/s${i % targets}`, alarms: [], cloudWatchQueries: 1 }));
}

describe('dispatchTick', () => {
  it('evaluates a small deployment in-process as one shard holding every target, without the queue', async () => {
    const sent: ShardMessage[] = [];
    const ran: ShardMessage[] = [];
    const result = await dispatchTick(tick, {
      index: { listIndex: async () => entries(30) },
      queue: { send: async (m) => void sent.push(...m) },
      sizing,
      inProcessMaxTargets: 200,
      runInProcess: async (m) => (ran.push(m), evaluated),
    });
    expect(result).toMatchObject({ mode: 'in-process', policies: 60, targets: 30, shards: 1 });
    expect(sent).toEqual([]);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatchObject({ tickId: 'tick-1', tickAt: tick.at, shard: 0, shards: 1 });
    expect(ran[0]!.targets).toHaveLength(30);
    expect(ran[0]!.policies).toHaveLength(60);
  });

  it('sends one message per shard, with the tick id, once the deployment is larger than the in-process limit', async () => {
    const sent: ShardMessage[] = [];
    const queue: ShardQueue = { send: async (m) => void sent.push(...m) };
    // 30 targets over 3 workers: 10 targets a shard.
    const result = await dispatchTick(tick, { index: { listIndex: async () => entries(30) }, queue, sizing: { ...sizing, workers: 3 }, inProcessMaxTargets: 20, runInProcess: async () => evaluated });
    expect(result).toMatchObject({ mode: 'queue', policies: 60, targets: 30, shards: 3 });
    expect(sent.map((m) => [m.tickId, m.shard, m.shards, m.targets.length, m.policies.length])).toEqual([
      ['tick-1', 0, 3, 10, 20],
      ['tick-1', 1, 3, 10, 20],
      ['tick-1', 2, 3, 10, 20],
    ]);
  });
});

describe('InProcessQueue (local mode: SQS semantics in this process)', () => {
  const message = (shard: number): ShardMessage => ({ tickId: 't', tickAt: 0, intervalMs: 60_000, shard, shards: 4, targets: [`docker/h/s${shard}`], policies: [{ id: `p${shard}`, version: 1 }] });

  it('delivers a failed shard again, and only that shard, after the retry delay', async () => {
    const deliveries: Array<[number, number]> = [];
    const queue = new InProcessQueue(
      async (m, receive) => {
        deliveries.push([m.shard, receive]);
        if (m.shard === 2 && receive === 1) throw new Error('worker failed');
      },
      { concurrency: 2, retryDelayMs: 5, maxReceives: 3 },
    );
    await queue.send([0, 1, 2, 3].map(message));
    await queue.drained();
    expect(deliveries.filter(([s]) => s !== 2).map(([, r]) => r)).toEqual([1, 1, 1]);
    expect(deliveries.filter(([s]) => s === 2)).toEqual([[2, 1], [2, 2]]);
    expect(queue.deadLetters).toEqual([]);
  });

  it('dead-letters a shard that fails on every receive, with its last error', async () => {
    const queue = new InProcessQueue(async () => {
      throw new Error('always');
    }, { concurrency: 1, retryDelayMs: 1, maxReceives: 3 });
    await queue.send([message(0)]);
    await queue.drained();
    expect(queue.deadLetters).toEqual([{ message: message(0), error: 'always' }]);
  });

  it('never runs more shards at once than its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const queue = new InProcessQueue(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    }, { concurrency: 3, retryDelayMs: 1, maxReceives: 1 });
    await queue.send(Array.from({ length: 12 }, (_, i) => message(i)));
    await queue.drained();
    expect(peak).toBe(3);
  });
});

describe('policy index (dynalite)', () => {
  let server: RunningDynalite;
  let stores: Stores;
  beforeAll(async () => {
    server = await startDynalite();
    const client = localClient(server.endpoint);
    await createTables(client, localTableNames);
    stores = storesFor(documentClient(client), localTableNames);
  });
  afterAll(async () => server.close());

  it('lists each enabled policy with its target key, version, alarms and CloudWatch query count; disabling or deleting removes it', async () => {
    const web = Policy.parse(stepsPolicy('index-web', 'web', { alarms: ['web-high'] }));
    const cw = Policy.parse({ ...stepsPolicy('index-cw', 'api'), metrics: [{ id: 'jobs', source: 'cloudwatch', namespace: 'App', name: 'Jobs' }, { id: 'q', source: 'cloudwatch', namespace: 'App', name: 'Q' }], rule: { type: 'target', metric: 'jobs', perReplica: 10 } });
    await stores.policies.put(web, 0);
    const v = await stores.policies.put(cw, 0);
    await stores.policies.rebuildIndex();
    expect(await stores.policies.listIndex()).toEqual([
      { id: 'index-cw', version: v, target: 'memory/api', alarms: [], cloudWatchQueries: 2 },
      { id: 'index-web', version: 1, target: 'memory/web', alarms: ['web-high'], cloudWatchQueries: 0 },
    ]);
    await stores.policies.put({ ...web, enabled: false }, 1, web.alarms);
    await stores.policies.delete('index-cw');
    expect(await stores.policies.listIndex()).toEqual([]);
    expect((await stores.policies.getMany(['index-web', 'gone'])).map((r) => ('policy' in r ? [r.policy.id, r.version, r.policy.enabled] : r))).toEqual([['index-web', 2, false]]);
  });

  it('a table written before the index existed is read from the full list until `policy apply` completes the index', async () => {
    // Prepare: a table with a policy but no index-complete marker (as an older release left it).
    const older = await startDynalite();
    try {
      const client = localClient(older.endpoint);
      await createTables(client, localTableNames);
      const policies = storesFor(documentClient(client), localTableNames).policies;
      const old = Policy.parse(stepsPolicy('before-index', 'old'));
      await policies.put(old, 0);
      // Act + Assess
      expect(await policies.indexComplete()).toBe(false);
      expect((await policies.listIndex()).map((e) => e.id)).toEqual(['before-index']);
      await executePlan(policies, await planApply(policies, [old]));
      expect(await policies.indexComplete()).toBe(true);
      expect((await policies.listIndex()).map((e) => e.id)).toEqual(['before-index']);
    } finally {
      await older.close();
    }
  });
});
