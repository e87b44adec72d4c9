/** The `cloudwatch` metric source: one metric, or a metric math expression, batched per GetMetricData. */
import * as z from 'zod/mini';
import { cloudWatchStat, metricId, period, positiveInt, region } from '../../../policy/fields.ts';
import type { MetricSourceDescriptor } from '../../descriptor.ts';

/**
 * How late the metric's datapoints arrive in CloudWatch: only periods that ended at least this long
 * ago are read (a period still receiving late datapoints is as understated as one still running).
 * Default 0: the last complete period.
 */
export const delaySeconds = z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(3_600)));

/** Ids a metric math expression refers to: lower-case words outside string literals, not followed by `(` (functions are upper-case). */
export function expressionIds(expression: string): string[] {
  const outsideStrings = expression.split(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/).join(' ');
  return [...outsideStrings.matchAll(/(?<![\w.])([a-z][a-zA-Z0-9_]*)\b(?!\s*\()/g)].map((m) => m[1]!);
}

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
    /** How far back to look for the newest complete period. Default: 5 periods. */
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    delaySeconds,
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
    delaySeconds,
    region: z.optional(region),
  })
  .check(
    // CloudWatch rejects a whole GetMetricData call (ValidationError) for an expression naming an
    // unknown id, and the call carries other policies' queries too: catch it here.
    z.superRefine((m, ctx) => {
      const unknown = [...new Set(expressionIds(m.expression).filter((id) => !Object.hasOwn(m.using, id)))];
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['expression'], input: m.expression, message: `refers to ${unknown.map((id) => `"${id}"`).join(', ')}, not in using (${Object.keys(m.using).join(', ') || 'empty'}); an expression may use only the ids its using defines` });
      }
    }),
  )
  .register(z.globalRegistry, { description: 'A CloudWatch metric math expression.' });

export const cloudWatchDescriptor = {
  source: 'cloudwatch',
  batched: true,
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
