/**
 * Datapoints and GetMetricData pages when policies with very different look-backs meet in one
 * evaluation: 499 metrics looking back 5 minutes and one looking back a day. "One shared window"
 * is the previous batching (one StartTime for the call, the longest look-back: reproduced here by
 * giving every request that look-back); "per window" is the current batching (one call per
 * (period, look-back) window). The API is mocked: every query gets one datapoint per period of
 * its window, and a page holds at most 100,800 datapoints (GetMetricData's default MaxDatapoints).
 */
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { fetchCloudWatch, type CloudWatchRequest } from '../shared/aws/cloudwatch-batch.ts';
import { printTable } from './table.ts';

const pageLimit = 100_800;

export default async function (): Promise<void> {
  const mock = mockClient(CloudWatchClient);
  let datapoints = 0;
  let pages = 0;
  mock.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
    const queries = input.MetricDataQueries!;
    const period = queries[0]!.MetricStat!.Period! * 1000;
    const perQuery = Math.floor((input.EndTime!.getTime() - input.StartTime!.getTime()) / period);
    // Pages in the order of ScanBy TimestampDescending: the page number is the NextToken.
    const page = Number(input.NextToken ?? 0);
    const total = perQuery * queries.length;
    const returned = Math.min(pageLimit, total - page * pageLimit);
    datapoints += returned;
    pages += 1;
    const newest = new Date(input.EndTime!.getTime() - period);
    return {
      MetricDataResults: queries.map((q) => ({ Id: q.Id, StatusCode: 'Complete' as const, Timestamps: page === 0 ? [newest] : [], Values: page === 0 ? [1] : [] })),
      ...((page + 1) * pageLimit < total ? { NextToken: String(page + 1) } : {}),
    };
  });
  const request = (i: number, lookbackSeconds: number): CloudWatchRequest => ({
    key: `p${i}`,
    region: undefined,
    period: 60,
    lookbackSeconds,
    metricStat: { namespace: 'App', name: 'Depth', dimensions: { Queue: `q${i}` }, stat: 'Average' },
  });
  const now = () => Date.UTC(2026, 11, 1, 12, 0, 20);
  const rows = [];
  for (const [label, lookbacks] of [
    ['one shared window (previous)', (_i: number) => 86_400],
    ['per window (current)', (i: number) => (i === 0 ? 86_400 : 300)],
  ] as const) {
    datapoints = 0;
    pages = 0;
    const requests = Array.from({ length: 500 }, (_, i) => request(i, lookbacks(i)));
    const started = performance.now();
    const results = await fetchCloudWatch(requests, { now });
    const ms = performance.now() - started;
    if ([...results.values()].some((r) => r === undefined || 'error' in r)) throw new Error('lost results');
    rows.push({ batching: label, 'GetMetricData pages': pages, 'datapoints returned': datapoints, ms: Math.round(ms) });
  }
  mock.restore();
  console.log('500 metrics, period 60 s: 499 look back 300 s, one looks back 86,400 s. Mocked GetMetricData.\n');
  printTable(rows);
}
