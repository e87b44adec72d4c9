/**
 * CloudWatch metric source: metrics and metric math expressions, each with its own period,
 * statistic and look-back window (default 5 periods). The value read is the newest *complete*
 * period's (see `windowOf` in shared/aws/cloudwatch-batch.ts), `delaySeconds` earlier for metrics
 * that are published late. All requests go out through the shared
 * GetMetricData batcher (shared/aws/cloudwatch-batch.ts), together with ElastiCache's per-node queries.
 */
import type { CloudWatchRequest } from '../../../aws/cloudwatch-batch.ts';
import { joinBatch } from '../../../aws/cloudwatch-batch.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import type { CloudWatchExpression, CloudWatchMetric } from '../../../policy/schema.ts';

type CloudWatchAny = CloudWatchMetric | CloudWatchExpression;

/** The look-back window: the metric's own, else 5 periods. */
export function lookbackOf(metric: { period: number; lookbackSeconds?: number | undefined }): number {
  return metric.lookbackSeconds ?? 5 * metric.period;
}

export function toCloudWatchRequest(request: MetricRequest<CloudWatchAny>): CloudWatchRequest {
  const m = request.metric;
  const common = { key: request.key, region: m.region, period: m.period, lookbackSeconds: lookbackOf(m), delaySeconds: m.delaySeconds };
  if ('expression' in m) return { ...common, expression: { text: m.expression, using: m.using } };
  return { ...common, metricStat: { namespace: m.namespace, name: m.name, dimensions: m.dimensions, stat: m.stat } };
}

export const cloudWatchSource: MetricSource<CloudWatchAny> = {
  source: 'cloudwatch',
  async fetch(requests: ReadonlyArray<MetricRequest<CloudWatchAny>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    const ticket = joinBatch({ signal: ctx.signal });
    return ticket.submit(requests.map(toCloudWatchRequest));
  },
};
