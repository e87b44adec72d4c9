/**
 * A GetMetricData responder for aws-sdk-client-mock that answers the way CloudWatch does, rather
 * than the way the code under test expects (no CloudWatch emulator exists; LocalStack and moto do
 * not model periods). The rules it follows, from the GetMetricData API reference
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html, also the
 * doc strings of GetMetricDataInput StartTime/EndTime in the SDK v3 model, node_modules/@aws-sdk/client-cloudwatch/dist-types/models/models_0.d.ts):
 *
 * - StartTime is inclusive and rounded down: to the minute (periods ≥ 60 s, data < 15 days old), or
 *   to the period's division of the minute for 1/5/10/30-second periods.
 * - EndTime is exclusive; every period that *starts* before it is returned, including the one that
 *   contains it, with whatever datapoints have arrived so far (a Sum over 20 s of a 60 s period).
 * - A datapoint is stamped with the start of its period; a period with no samples has no datapoint.
 * - ScanBy TimestampDescending returns the newest first.
 * - A metric math expression that names an id not defined in the same call fails the whole call with
 *   ValidationError (HTTP 400), as any invalid MetricDataQuery does (API reference, Common Errors;
 *   the same 400 for a metric math error is reported in grafana/grafana#29300).
 *
 * Samples are a rate per metric name (values per second, one sample per second), visible only once
 * `publishDelaySeconds` have passed since they were taken (metrics published late).
 */
import type { GetMetricDataCommandInput, GetMetricDataCommandOutput, MetricDataQuery } from '@aws-sdk/client-cloudwatch';

export interface CloudWatchLikeOptions {
  /** The wall clock of the fake service (ms since the epoch). */
  readonly now: () => number;
  /** Samples per second by metric name; a metric absent here has no data. */
  readonly ratePerSecond: Readonly<Record<string, number>>;
  readonly publishDelaySeconds?: number;
}

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
}

export function cloudWatchLike(options: CloudWatchLikeOptions) {
  return (input: GetMetricDataCommandInput): Partial<GetMetricDataCommandOutput> => {
    const queries = input.MetricDataQueries ?? [];
    const ids = new Set(queries.map((q) => q.Id));
    for (const q of queries) {
      if (!q.Expression) continue;
      const outside = q.Expression.split(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/).join(' ');
      for (const [, id] of outside.matchAll(/(?<![\w.])([a-z][a-zA-Z0-9_]*)\b(?!\s*\()/g)) {
        if (!ids.has(id)) throw new ValidationError(`Error in expression ${q.Id}: Unrecognized identifier ${id}`);
      }
    }
    const now = options.now();
    const visibleUntil = now - (options.publishDelaySeconds ?? 0) * 1000;
    const series = new Map<string, Array<{ at: number; value: number }>>();
    const seriesOf = (q: MetricDataQuery): Array<{ at: number; value: number }> => {
      const cached = series.get(q.Id!);
      if (cached) return cached;
      let points: Array<{ at: number; value: number }>;
      if (q.MetricStat) {
        const periodMs = q.MetricStat.Period! * 1000;
        const rounding = periodMs >= 60_000 ? 60_000 : periodMs;
        const start = Math.floor(input.StartTime!.getTime() / rounding) * rounding;
        const rate = options.ratePerSecond[q.MetricStat.Metric!.MetricName!];
        points = [];
        for (let at = Math.ceil(start / periodMs) * periodMs; at < input.EndTime!.getTime(); at += periodMs) {
          if (rate === undefined) break;
          // Whole seconds of this period that have been sampled and published by now.
          const seconds = Math.max(0, Math.floor((Math.min(at + periodMs, visibleUntil) - at) / 1000));
          if (seconds === 0) continue;
          const stat = q.MetricStat.Stat;
          const value = stat === 'Sum' ? rate * seconds : stat === 'SampleCount' ? seconds : rate;
          points.push({ at, value });
        }
      } else {
        // Only what the tests need: an expression that is one id, or a sum of ids (same timestamps).
        const terms = q.Expression!.split('+').map((t) => t.trim());
        const parts = terms.map((t) => seriesOf(queries.find((x) => x.Id === t)!));
        points = parts[0]!.map((p, i) => ({ at: p.at, value: parts.reduce((sum, part) => sum + (part[i]?.value ?? 0), 0) }));
      }
      series.set(q.Id!, points);
      return points;
    };
    const results = queries
      .filter((q) => q.ReturnData !== false)
      .map((q) => {
        const points = [...seriesOf(q)].sort((a, b) => (input.ScanBy === 'TimestampAscending' ? a.at - b.at : b.at - a.at));
        return { Id: q.Id, Label: q.Id, StatusCode: 'Complete' as const, Timestamps: points.map((p) => new Date(p.at)), Values: points.map((p) => p.value) };
      });
    return { MetricDataResults: results, Messages: [] };
  };
}
