/** The `elasticache` metric source: a per-node CloudWatch metric aggregated over a group's or cluster's nodes. */
import * as z from 'zod/mini';
import { cloudWatchStat, metricId, period, positiveInt, region } from '../../../policy/fields.ts';
import type { MetricSourceDescriptor } from '../../descriptor.ts';

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
    period: z._default(period, 60),
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .check(
    z.refine((m) => (m.replicationGroupId === undefined) !== (m.cacheClusterId === undefined), {
      message: 'set exactly one of replicationGroupId or cacheClusterId',
    }),
  )
  .register(z.globalRegistry, { description: 'A per-node ElastiCache metric, aggregated over the nodes of a replication group or cluster.' });

export const elastiCacheDescriptor = {
  source: 'elasticache',
  schemas: [ElastiCacheMetric],
  iam: (ctx) => [
    {
      sid: 'DescribeElastiCache',
      actions: ['elasticache:DescribeCacheClusters', 'elasticache:DescribeReplicationGroups'],
      resources: [
        ctx.arn({ service: 'elasticache', resource: 'cluster', resourceName: '*', separator: ':' }),
        ctx.arn({ service: 'elasticache', resource: 'replicationgroup', resourceName: '*', separator: ':' }),
      ],
      wildcardReason: (resource) =>
        resource.includes('replicationgroup')
          ? 'Policies name ElastiCache replication groups at run time, so describe is granted on this account and region\'s groups; describe reveals no data.'
          : 'Policies name ElastiCache clusters at run time (stored in DynamoDB), so describe is granted on this account and region\'s clusters; describe reveals no data.',
    },
  ],
  load: async () => (await import('./source.ts')).elastiCacheSource,
} as const satisfies MetricSourceDescriptor;
