/** The `cloudwatch` metric source: one metric, or a metric math expression, batched per GetMetricData. */
import * as z from 'zod/mini';
import { cloudWatchStat, metricId, period, positiveInt, region } from '../../../policy/fields.ts';
import type { MetricSourceDescriptor } from '../../descriptor.ts';

export const MetricStatShape = {
  namespace: z.string().check(z.minLength(1), z.maxLength(255)),
  name: z.string().check(z.minLength(1), z.maxLength(255)),
  dimensions: z._default(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1))), {}),
  stat: z._default(cloudWatchStat, 'Average'),
};

export const CloudWatchMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('cloudwatch'),
    ...MetricStatShape,
    period: z._default(period, 60),
    /** How far back to look for the newest datapoint. Default: 5 periods. */
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .register(z.globalRegistry, { description: 'One CloudWatch metric.' });

export const CloudWatchExpression = z
  .strictObject({
    id: metricId,
    source: z.literal('cloudwatch'),
    /** A CloudWatch metric math expression over the metrics in `using`, e.g. `m1 + m2`. */
    expression: z.string().check(
      z.minLength(1),
      z.maxLength(2048),
      // Batched with other policies' queries, METRICS() would take theirs in too; SEARCH() gives several series, not one value.
      z.refine((e) => !/\b(METRICS|SEARCH)\s*\(/i.test(e), 'METRICS() and SEARCH() are not supported (one call batches many policies, and one value is needed): name the metrics in `using` and refer to them by id'),
    ),
    using: z._default(z.record(metricId, z.strictObject(MetricStatShape)), {}),
    period: z._default(period, 60),
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .register(z.globalRegistry, { description: 'A CloudWatch metric math expression.' });

export const cloudWatchDescriptor = {
  source: 'cloudwatch',
  schemas: [CloudWatchMetric, CloudWatchExpression],
  iam: () => [
    {
      sid: 'ReadMetrics',
      actions: ['cloudwatch:GetMetricData'],
      // GetMetricData has no resource-level permissions: "*" is the only valid resource.
      resources: ['*'],
      wildcardReason: () => 'cloudwatch:GetMetricData supports no resource-level permission; it is the only action granted on "*".',
    },
  ],
  load: async () => (await import('./source.ts')).cloudWatchSource,
} as const satisfies MetricSourceDescriptor;
