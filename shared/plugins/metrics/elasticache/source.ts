/**
 * ElastiCache metric source: a replication group or cache cluster resolves to its nodes
 * (topology cached for five minutes), each node's metric is read in the same batched
 * GetMetricData calls as the CloudWatch source's, and the node values are aggregated.
 *
 * ElastiCache publishes per node, and a replica reports its own copy of its primary's keys. So for
 * keyspace metrics (`nodes: primaries`, their default) each shard counts once: its primary's value
 * where DescribeReplicationGroups says which member is primary (`CurrentRole`, cluster mode
 * disabled), else the largest value among the shard's members (cluster mode enabled lists members
 * without roles; a replica's copy never holds more than its primary, short of replication lag).
 */
import { elastiCacheClient, elastiCacheLibrary } from '../../../aws/clients.ts';
import { joinBatch, type CloudWatchRequest } from '../../../aws/cloudwatch-batch.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import type { ElastiCacheMetric } from '../../../policy/schema.ts';
import { lookbackOf } from '../cloudwatch/source.ts';

export interface CacheNode {
  readonly cacheClusterId: string;
  readonly cacheNodeId: string;
  /** The node group (shard) it belongs to; a cache cluster's nodes are each their own. */
  readonly shard: string;
  /** From CurrentRole, when the API gives it (cluster mode disabled only). */
  readonly role?: 'primary' | 'replica' | undefined;
}

/** Keyspace metrics: replicas hold copies, so they are counted once per shard by default. */
export const keyspaceMetrics: ReadonlySet<string> = new Set(['CurrItems', 'CurrVolatileItems', 'BytesUsedForCache', 'DatabaseMemoryUsagePercentage', 'DatabaseCapacityUsagePercentage', 'Evictions', 'Reclaimed']);

/** The policy's `nodes`, else the metric's default. */
export function nodesSetting(metric: Pick<ElastiCacheMetric, 'name' | 'nodes'>): 'primaries' | 'all' {
  return metric.nodes ?? (keyspaceMetrics.has(metric.name) ? 'primaries' : 'all');
}

export const topologyTtlMs = 5 * 60_000;

const topology = new Map<string, { readonly nodes: readonly CacheNode[]; readonly until: number }>();
let clock: () => number = Date.now;

/** For tests: a fake clock, and a clean cache. */
export function setTopologyClock(now: () => number): void {
  clock = now;
}
export function clearTopologyCache(): void {
  topology.clear();
}

/** The nodes behind a metric's replication group or cluster, from cache when fresh. */
export async function nodesOf(metric: ElastiCacheMetric, signal?: AbortSignal): Promise<readonly CacheNode[]> {
  const cacheKey = `${metric.region ?? ''}/${metric.replicationGroupId ? `rg:${metric.replicationGroupId}` : `cc:${metric.cacheClusterId}`}`;
  const cached = topology.get(cacheKey);
  if (cached && cached.until > clock()) return cached.nodes;
  const nodes = metric.replicationGroupId ? await replicationGroupNodes(metric.replicationGroupId, metric.region, signal) : await clusterNodes(metric.cacheClusterId!, metric.region, signal);
  topology.set(cacheKey, { nodes, until: clock() + topologyTtlMs });
  return nodes;
}

async function replicationGroupNodes(id: string, region: string | undefined, signal?: AbortSignal): Promise<CacheNode[]> {
  const { DescribeReplicationGroupsCommand } = await elastiCacheLibrary();
  let response;
  try {
    response = await (await elastiCacheClient(region)).send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }), signal ? { abortSignal: signal } : {});
  } catch (error) {
    if ((error as Error).name === 'ReplicationGroupNotFoundFault') {
      throw new Error(`${(error as Error).message} (an ElastiCache Serverless cache is not a replication group: read it with source "cloudwatch", dimensions { clusterId: "${id}" })`);
    }
    throw error;
  }
  const group = response.ReplicationGroups?.[0];
  if (!group) throw new Error(`replication group "${id}" not found`);
  const nodes = (group.NodeGroups ?? []).flatMap((g, i): CacheNode[] =>
    (g.NodeGroupMembers ?? [])
      .filter((m) => m.CacheClusterId && m.CacheNodeId)
      .map((m) => ({
        cacheClusterId: m.CacheClusterId!,
        cacheNodeId: m.CacheNodeId!,
        shard: g.NodeGroupId ?? String(i),
        role: m.CurrentRole === 'primary' || m.CurrentRole === 'replica' ? m.CurrentRole : undefined,
      })),
  );
  if (nodes.length === 0) throw new Error(`replication group "${id}" lists no node group members yet (status ${group.Status ?? 'unknown'})`);
  return nodes;
}

async function clusterNodes(id: string, region: string | undefined, signal?: AbortSignal): Promise<CacheNode[]> {
  const { DescribeCacheClustersCommand } = await elastiCacheLibrary();
  const response = await (await elastiCacheClient(region)).send(new DescribeCacheClustersCommand({ CacheClusterId: id, ShowCacheNodeInfo: true }), signal ? { abortSignal: signal } : {});
  const cluster = response.CacheClusters?.[0];
  if (!cluster) throw new Error(`cache cluster "${id}" not found`);
  // A cache cluster on its own (Memcached, or Redis without replication) has no replicas.
  return (cluster.CacheNodes ?? []).filter((n) => n.CacheNodeId).map((n) => ({ cacheClusterId: id, cacheNodeId: n.CacheNodeId!, shard: n.CacheNodeId!, role: 'primary' as const }));
}

/** Combines per-node readings; nodes without a datapoint are left out, none at all is missing. */
export function aggregate(how: ElastiCacheMetric['aggregate'], readings: ReadonlyArray<{ value: number; timestamp: number }>): { value: number; timestamp: number } | undefined {
  if (readings.length === 0) return undefined;
  const values = readings.map((r) => r.value);
  const sum = values.reduce((a, b) => a + b, 0);
  const value = how === 'sum' ? sum : how === 'average' ? sum / values.length : Math.max(...values);
  return { value, timestamp: Math.min(...readings.map((r) => r.timestamp)) };
}

/**
 * The units a metric aggregates over: every node (`all`), or one per shard (`primaries`): the
 * primary when roles are known, else all the shard's members, of which the largest value counts.
 */
export function unitsOf(nodes: readonly CacheNode[], setting: 'primaries' | 'all'): CacheNode[][] {
  if (setting === 'all') return nodes.map((n) => [n]);
  const shards = new Map<string, CacheNode[]>();
  for (const node of nodes) shards.set(node.shard, [...(shards.get(node.shard) ?? []), node]);
  return [...shards.values()].map((members) => {
    const primaries = members.filter((m) => m.role === 'primary');
    return primaries.length > 0 ? primaries : members;
  });
}

const nodeName = (node: CacheNode) => `${node.cacheClusterId}/${node.cacheNodeId}`;

export const elastiCacheSource: MetricSource<ElastiCacheMetric> = {
  source: 'elasticache',
  async fetch(requests: ReadonlyArray<MetricRequest<ElastiCacheMetric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    // Join before resolving nodes, so the CloudWatch source's queries wait for ours.
    const ticket = joinBatch({ signal: ctx.signal });
    const results = new Map<string, MetricResult>();
    const units = new Map<string, CacheNode[][]>();
    const perNode: CloudWatchRequest[] = [];
    const nodeKey = (key: string, node: CacheNode) => `${key}#${nodeName(node)}`;
    try {
      await Promise.all(
        requests.map(async ({ key, metric }) => {
          try {
            const nodes = await nodesOf(metric, ctx.signal);
            if (nodes.length === 0) {
              results.set(key, { error: `${metric.replicationGroupId ?? metric.cacheClusterId} has no nodes` });
              return;
            }
            const mine = unitsOf(nodes, nodesSetting(metric));
            units.set(key, mine);
            for (const node of mine.flat()) {
              perNode.push({
                key: nodeKey(key, node),
                region: metric.region,
                period: metric.period,
                lookbackSeconds: lookbackOf(metric),
                delaySeconds: metric.delaySeconds,
                metricStat: { namespace: 'AWS/ElastiCache', name: metric.name, stat: metric.stat, dimensions: { CacheClusterId: node.cacheClusterId, CacheNodeId: node.cacheNodeId } },
              });
            }
          } catch (error) {
            results.set(key, { error: `ElastiCache topology: ${(error as Error).message}` });
          }
        }),
      );
    } catch (error) {
      ticket.leave();
      throw error;
    }
    const fetched = await ticket.submit(perNode);
    for (const { key, metric } of requests) {
      if (results.has(key)) continue;
      const readings: Array<{ value: number; timestamp: number }> = [];
      const silent: string[] = [];
      let failed: { error: string } | undefined;
      for (const unit of units.get(key) ?? []) {
        const answers = unit.map((node) => fetched.get(nodeKey(key, node)));
        failed ??= answers.find((r): r is { error: string } => r !== undefined && 'error' in r);
        const values = answers.filter((r): r is { value: number; timestamp: number } => r !== undefined && !('error' in r));
        if (values.length === 0) silent.push(unit.map(nodeName).join(' | '));
        else readings.push(values.reduce((a, b) => (b.value > a.value ? b : a)));
      }
      if (failed) {
        results.set(key, failed);
        continue;
      }
      // A sum over the nodes that answered would understate the total (a missing node is not zero):
      // the whole metric is missing then, and the policy's onMissingMetric applies.
      const total = readings.length + silent.length;
      if (metric.aggregate === 'sum' && readings.length > 0 && silent.length > 0) {
        const what = nodesSetting(metric) === 'primaries' ? 'shards' : 'nodes';
        results.set(key, { error: `no datapoint from ${silent.length} of ${total} ${what} (${silent.join(', ')}): a sum without them would understate the total` });
        continue;
      }
      results.set(key, aggregate(metric.aggregate, readings));
    }
    return results;
  },
};
