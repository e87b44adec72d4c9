/**
 * What the handlers print for CloudWatch: structured JSON logs carrying the correlation id, and EMF
 * metrics with the dimension sets the dashboard's SEARCH expressions match (metric-names.ts).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { metricNames, metricNamespace } from '../../shared/observability/metric-names.ts';
import { lambdaContext, seed, snsAlarmEvent, startScenario, type Scenario } from './scenario.ts';

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startScenario();
  // Telemetry on, as in Lambda; set before the handler module creates its Logger and Metrics.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});
afterAll(async () => {
  (await import('../../functions/common/runtime.ts')).resetRuntime();
  await scenario.close();
});

interface EmfBlob {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

it('alarm handler (dynalite, fake CloudWatch and Kubernetes API): JSON logs carry the SNS MessageId as correlation id; EMF has per-target Replicas, Actions and MetricValue, and totals', async () => {
  // Prepare
  await seed(scenario);
  const lines: string[] = [];
  const capture = (chunk: unknown) => (lines.push(...String(chunk).split('\n').filter(Boolean)), true);
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(console, 'log').mockImplementation((...a) => void capture(a.join(' ')));
  vi.spyOn(console, 'info').mockImplementation((...a) => void capture(a.join(' ')));
  vi.spyOn(console, 'warn').mockImplementation((...a) => void capture(a.join(' ')));
  const { handler } = await import('../../functions/alarm/handler.ts');

  // Act
  const result = await handler(snsAlarmEvent('msg-telemetry', 'ALARM'), lambdaContext('req-telemetry'));
  vi.restoreAllMocks();

  // Assess
  expect(result[0]).toMatchObject({ actions: 1 });
  const json = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  const logs = json.filter((j) => typeof j.message === 'string');
  const done = logs.find((j) => j.message === 'evaluation done');
  expect(done).toMatchObject({ level: 'INFO', service: 'autoscaler', correlation_id: 'msg-telemetry', function_request_id: 'req-telemetry' });
  const emf = json.filter((j): j is EmfBlob => typeof j._aws === 'object');
  const metric = (name: string) => emf.filter((b) => b._aws.CloudWatchMetrics[0]!.Metrics.some((m) => m.Name === name));
  const [replicas] = metric(metricNames.replicas);
  expect(replicas!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: metricNamespace, Dimensions: [['service', 'target']] });
  expect(replicas).toMatchObject({ target: 'kubernetes/local/web/Deployment/api', [metricNames.replicas]: 5 });
  expect(metric(metricNames.actions)[0]).toMatchObject({ target: 'kubernetes/local/web/Deployment/api', [metricNames.actions]: 1 });
  expect(metric(metricNames.metricValue)[0]!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'target', 'metric']]);
  expect(metric(metricNames.metricValue)[0]).toMatchObject({ metric: 'conns', [metricNames.metricValue]: 750 });
  // Failures only in the hours there are some (custom metrics are billed per metric-month).
  expect(metric(metricNames.failures)).toEqual([]);
  const [decisions] = metric(metricNames.decisions);
  expect(decisions!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
  expect(decisions).toMatchObject({ [metricNames.decisions]: 1 });
});
