/**
 * CloudWatch calls and wall time per evaluation: this project's batching (GetMetricData with up to
 * 500 queries, a few calls in flight) vs one GetMetricData per policy (KEDA's CloudWatch scaler
 * style), 10 in flight. The API is mocked (aws-sdk-client-mock) with a fixed latency per call,
 * so the figures show the shape, not AWS's real latency.
 */
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { noEndpoints } from '../shared/config/endpoints.ts';
import { callCounter } from '../shared/aws/cloudwatch-batch.ts';
import { cloudWatchSource } from '../shared/plugins/metrics/cloudwatch/source.ts';
import { CloudWatchMetric } from '../shared/policy/schema.ts';
import { printTable } from './table.ts';

const latencyMs = 20;
const perPolicyConcurrency = 10;

export default async function (): Promise<void> {
  const mock = mockClient(CloudWatchClient);
  let calls = 0;
  mock.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataCommandInput) => {
    calls += 1;
    await new Promise((r) => setTimeout(r, latencyMs));
    // Stamped as CloudWatch stamps it: the start of the last whole period before EndTime.
    const at = new Date(input.EndTime!.getTime() - input.MetricDataQueries![0]!.MetricStat!.Period! * 1000);
    return { MetricDataResults: input.MetricDataQueries!.map((q) => ({ Id: q.Id, Timestamps: [at], Values: [1] })) };
  });
  const ctx = { endpoints: noEndpoints, signal: new AbortController().signal };
  // Warm-up: first-call setup (SDK middleware, module init) is not what is being compared.
  await cloudWatchSource.fetch([{ key: 'w/queue', metric: CloudWatchMetric.parse({ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'Depth' }) }], ctx);
  const rows = [];
  for (const policies of [100, 1_000, 5_000]) {
    const requests = Array.from({ length: policies }, (_, i) => ({
      key: `p${i}/queue`,
      metric: CloudWatchMetric.parse({ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'Depth', dimensions: { Queue: `q${i}` } }),
    }));

    calls = 0;
    const before = callCounter.calls;
    let started = performance.now();
    const batched = await cloudWatchSource.fetch(requests, ctx);
    const batchedMs = performance.now() - started;
    const batchedCalls = calls;
    if (batched.size !== policies || callCounter.calls - before !== batchedCalls) throw new Error('batched fetch lost results');

    calls = 0;
    const client = new CloudWatchClient({ region: 'us-east-1' });
    started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const { metric } = requests[next++]!;
        const now = Date.now();
        await client.send(
          new GetMetricDataCommand({
            MetricDataQueries: [{ Id: 'm0', MetricStat: { Metric: { Namespace: metric.namespace, MetricName: metric.name, Dimensions: Object.entries(metric.dimensions).map(([Name, Value]) => ({ Name, Value })) }, Period: metric.period, Stat: metric.stat } }],
            StartTime: new Date(now - 300_000),
            EndTime: new Date(now),
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: perPolicyConcurrency }, worker));
    const perPolicyMs = performance.now() - started;
    const perPolicyCalls = calls;

    rows.push({
      policies,
      'batched calls': batchedCalls,
      'per-policy calls': perPolicyCalls,
      'calls ratio': `${(perPolicyCalls / batchedCalls).toFixed(0)}×`,
      'batched ms': Math.round(batchedMs),
      'per-policy ms': Math.round(perPolicyMs),
      'time ratio': `${(perPolicyMs / batchedMs).toFixed(1)}×`,
    });
  }
  mock.restore();
  console.log(`Mocked GetMetricData, ${latencyMs} ms per call; per-policy approach ${perPolicyConcurrency} calls in flight; batched ≤ 500 queries per call, 4 in flight.\n`);
  printTable(rows);
}
