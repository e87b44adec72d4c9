/**
 * ElastiCache metric source: a replication group or cache cluster resolves to its nodes
 * (topology cached for five minutes), each node's metric is read in the same batched
 * GetMetricData calls as the CloudWatch source's, and the node values are aggregated.
 */
import { elastiCacheClient, elastiCacheLibrary } from '../../../aws/clients.ts';
import { joinBatch, type CloudWatchRequest } from '../../../aws/cloudwatch-batch.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import type { ElastiCacheMetric } from '../../../policy/schema.ts';
import { lookbackOf } from '../cloudwatch/source.ts';

export interface CacheNode {
  readonly cacheClusterId: string;
  readonly cacheNodeId: string;
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
  const response = await (await elastiCacheClient(region)).send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }), signal ? { abortSignal: signal } : {});
  const group = response.ReplicationGroups?.[0];
  if (!group) throw new Error(`replication group "${id}" not found`);
  const members = (group.NodeGroups ?? []).flatMap((g) => g.NodeGroupMembers ?? []);
  if (members.length > 0) return members.filter((m) => m.CacheClusterId && m.CacheNodeId).map((m) => ({ cacheClusterId: m.CacheClusterId!, cacheNodeId: m.CacheNodeId! }));
  // Cluster-mode groups may list only member clusters; a Redis/Valkey cluster has one node, 0001.
  return (group.MemberClusters ?? []).map((cacheClusterId) => ({ cacheClusterId, cacheNodeId: '0001' }));
}

async function clusterNodes(id: string, region: string | undefined, signal?: AbortSignal): Promise<CacheNode[]> {
  const { DescribeCacheClustersCommand } = await elastiCacheLibrary();
  const response = await (await elastiCacheClient(region)).send(new DescribeCacheClustersCommand({ CacheClusterId: id, ShowCacheNodeInfo: true }), signal ? { abortSignal: signal } : {});
  const cluster = response.CacheClusters?.[0];
  if (!cluster) throw new Error(`cache cluster "${id}" not found`);
  return (cluster.CacheNodes ?? []).filter((n) => n.CacheNodeId).map((n) => ({ cacheClusterId: id, cacheNodeId: n.CacheNodeId! }));
}

/** Combines per-node readings; nodes without a datapoint are left out, none at all is missing. */
export function aggregate(how: ElastiCacheMetric['aggregate'], readings: ReadonlyArray<{ value: number; timestamp: number }>): { value: number; timestamp: number } | undefined {
  if (readings.length === 0) return undefined;
  const values = readings.map((r) => r.value);
  const sum = values.reduce((a, b) => a + b, 0);
  const value = how === 'sum' ? sum : how === 'average' ? sum / values.length : Math.max(...values);
  return { value, timestamp: Math.min(...readings.map((r) => r.timestamp)) };
}

export const elastiCacheSource: MetricSource<ElastiCacheMetric> = {
  source: 'elasticache',
  async fetch(requests: ReadonlyArray<MetricRequest<ElastiCacheMetric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    // Join before resolving nodes, so the CloudWatch source's queries wait for ours.
    const ticket = joinBatch({ signal: ctx.signal });
    const results = new Map<string, MetricResult>();
    const perNode: Array<{ key: string; node: string; request: CloudWatchRequest }> = [];
    try {
      await Promise.all(
        requests.map(async ({ key, metric }) => {
          try {
            const nodes = await nodesOf(metric, ctx.signal);
            if (nodes.length === 0) results.set(key, { error: `${metric.replicationGroupId ?? metric.cacheClusterId} has no nodes` });
            for (const node of nodes) {
              const nodeKey = `${key}#${node.cacheClusterId}/${node.cacheNodeId}`;
              perNode.push({
                key,
                node: nodeKey,
                request: {
                  key: nodeKey,
                  region: metric.region,
                  period: metric.period,
                  lookbackSeconds: lookbackOf(metric),
                  metricStat: { namespace: 'AWS/ElastiCache', name: metric.name, stat: metric.stat, dimensions: { CacheClusterId: node.cacheClusterId, CacheNodeId: node.cacheNodeId } },
                },
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
    const fetched = await ticket.submit(perNode.map((p) => p.request));
    for (const { key, metric } of requests) {
      if (results.has(key)) continue;
      const mine = perNode.filter((p) => p.key === key);
      const nodes = mine.map((p) => fetched.get(p.node));
      const failed = nodes.find((r): r is { error: string } => r !== undefined && 'error' in r);
      if (failed) {
        results.set(key, failed);
        continue;
      }
      const readings = nodes.filter((r): r is { value: number; timestamp: number } => r !== undefined && !('error' in r));
      // A sum over the nodes that answered would understate the total (a missing node is not zero):
      // the whole metric is missing then, and the policy's onMissingMetric applies.
      if (metric.aggregate === 'sum' && readings.length > 0 && readings.length < nodes.length) {
        const silent = mine.filter((p) => fetched.get(p.node) === undefined).map((p) => p.node.split('#').at(-1));
        results.set(key, { error: `no datapoint from ${silent.length} of ${nodes.length} nodes (${silent.join(', ')}): a sum without them would understate the total` });
        continue;
      }
      results.set(key, aggregate(metric.aggregate, readings));
    }
    return results;
  },
};
