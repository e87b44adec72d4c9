/** The `elasticache` metric source: a per-node CloudWatch metric aggregated over a group's or cluster's nodes. */
import * as z from 'zod/mini';
import { cloudWatchStat, metricId, period, positiveInt, region } from '../../../policy/fields.ts';
import type { MetricSourceDescriptor } from '../../descriptor.ts';
import { delaySeconds } from '../cloudwatch/descriptor.ts';

export const ElastiCacheMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('elasticache'),
    replicationGroupId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    cacheClusterId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    /** Per-node CloudWatch metric in AWS/ElastiCache, e.g. CurrItems, CurrConnections, EngineCPUUtilization. */
    name: z.string().check(z.minLength(1), z.maxLength(255)),
    stat: z._default(cloudWatchStat, 'Average'),
    /** How the per-node values combine. */
    aggregate: z._default(z.enum(['sum', 'average', 'max']), 'sum'),
    /**
     * Which nodes count. `primaries`: one value per shard (replicas hold copies of their primary's
     * keys, so summing them counts every item 1 + replicas times). `all`: every node, for load
     * that replicas serve too (connections, commands, CPU). Default: `primaries` for the keyspace
     * metrics (CurrItems, CurrVolatileItems, BytesUsedForCache, DatabaseMemoryUsagePercentage,
     * DatabaseCapacityUsagePercentage, Evictions, Reclaimed), `all` for any other.
     */
    nodes: z.optional(z.enum(['primaries', 'all'])),
    period: z._default(period, 60),
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    delaySeconds,
    region: z.optional(region),
    /** Not supported; here to say so (and what to use) rather than "unknown key". */
    serverlessCacheName: z.optional(z.string()),
  })
  .check(
    z.refine((m) => m.serverlessCacheName === undefined, {
      path: ['serverlessCacheName'],
      message:
        'ElastiCache Serverless caches have no nodes to aggregate and are not read by source "elasticache"; read them with source "cloudwatch", namespace "AWS/ElastiCache", dimensions { clusterId: <cache name> }',
    }),
    z.refine((m) => m.serverlessCacheName !== undefined || (m.replicationGroupId === undefined) !== (m.cacheClusterId === undefined), {
      message: 'set exactly one of replicationGroupId or cacheClusterId',
    }),
  )
  .register(z.globalRegistry, { description: 'A per-node ElastiCache metric, aggregated over the nodes of a replication group or cluster.' });

export const elastiCacheDescriptor = {
  source: 'elasticache',
  batched: true,
  schemas: [ElastiCacheMetric],
  iam: (ctx) => [
    {
      sid: 'DescribeElastiCache',
      actions: ['elasticache:DescribeCacheClusters', 'elasticache:DescribeReplicationGroups'],
      // In each region policies may name (a metric's `region`): an ARN built in the stack's region
      // alone would make a policy naming another region fail at run time with AccessDenied.
      resources: (ctx.elastiCacheRegions ?? [undefined]).flatMap((region) => [
        ctx.arn({ service: 'elasticache', resource: 'cluster', resourceName: '*', separator: ':', ...(region ? { region } : {}) }),
        ctx.arn({ service: 'elasticache', resource: 'replicationgroup', resourceName: '*', separator: ':', ...(region ? { region } : {}) }),
      ]),
      wildcardReason: (resource) =>
        resource.includes('replicationgroup')
          ? 'Policies name ElastiCache replication groups at run time, so describe is granted on this account and region\'s groups; describe reveals no data.'
          : 'Policies name ElastiCache clusters at run time (stored in DynamoDB), so describe is granted on this account and region\'s clusters; describe reveals no data.',
    },
  ],
  load: async () => (await import('./source.ts')).elastiCacheSource,
} as const satisfies MetricSourceDescriptor;
