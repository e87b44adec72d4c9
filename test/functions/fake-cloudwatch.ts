/**
 * A local fake CloudWatch endpoint (no CloudWatch emulator exists): the SDK's AWS JSON 1.0
 * protocol over HTTP, answering GetMetricData with one datapoint per query from `values` (by metric
 * name; absent names get no datapoint), stamped with the start of the last whole period before EndTime. The handlers reach it through AWS_ENDPOINT_URL_CLOUDWATCH,
 * which works for bundled code too, where aws-sdk-client-mock cannot reach the bundled SDK copy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCloudWatch {
  readonly url: string;
  readonly values: Map<string, number>;
  /** Each GetMetricData call's query count. */
  readonly calls: number[];
  close(): Promise<void>;
}

interface Query {
  Id: string;
  ReturnData?: boolean;
  Period?: number;
  MetricStat?: { Metric: { MetricName: string }; Period: number };
}

export async function startFakeCloudWatch(): Promise<FakeCloudWatch> {
  const values = new Map<string, number>();
  const calls: number[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.endsWith('.GetMetricData')) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        return res.end(JSON.stringify({ __type: 'InvalidAction', message: `unsupported ${target}` }));
      }
      const body = JSON.parse(raw) as { MetricDataQueries: Query[]; EndTime: number };
      calls.push(body.MetricDataQueries.length);
      const results = body.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => {
        const value = q.MetricStat ? values.get(q.MetricStat.Metric.MetricName) : undefined;
        // CloudWatch stamps a datapoint with its period's start: the last period before EndTime (exclusive).
        const period = q.MetricStat?.Period ?? q.Period ?? 60;
        return { Id: q.Id, Label: q.Id, StatusCode: 'Complete', Timestamps: value === undefined ? [] : [body.EndTime - period], Values: value === undefined ? [] : [value] };
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ MetricDataResults: results, Messages: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    values,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
