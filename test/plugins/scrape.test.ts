/**
 * The scrape metric source (LB response time without a Prometheus server): the exposition parser,
 * then Traefik's and Envoy's recorded exposition text (test/plugins/fixtures/README.md cites the
 * upstream sources) served over HTTP by a local server, scraped twice to measure the interval.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Endpoints, noEndpoints } from '../../shared/config/endpoints.ts';
import { ScrapeMetric } from '../../shared/plugins/metrics/scrape/descriptor.ts';
import { parseExposition } from '../../shared/plugins/metrics/scrape/exposition.ts';
import { scrapeSource } from '../../shared/plugins/metrics/scrape/source.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const envoyText = fixture('envoy-stats-prometheus.txt');
const traefikText = fixture('traefik-metrics.txt');

describe('parseExposition (Prometheus text format 0.0.4)', () => {
  it('reads names, escaped label values, special values and timestamps; skips comments', () => {
    // Act
    const samples = parseExposition('# HELP x help\n# TYPE x gauge\nx{path="C:\\\\dir",msg="say \\"hi\\"\\n"} 1.5 1700000000000\ny NaN\nz{le="+Inf"} +Inf\nw -Inf\n');
    // Assert
    expect(samples).toEqual([
      { name: 'x', labels: { path: 'C:\\dir', msg: 'say "hi"\n' }, value: 1.5 },
      { name: 'y', labels: {}, value: Number.NaN },
      { name: 'z', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY },
      { name: 'w', labels: {}, value: Number.NEGATIVE_INFINITY },
    ]);
  });
  it('names the line of a malformed sample', () => {
    expect(() => parseExposition('ok 1\nbad{a="1" 2\n')).toThrow(/^line 2: label a: expected , or \}/);
    expect(() => parseExposition('ok one\n')).toThrow('line 1: not a number: one: ok one');
  });
  it('parses both recorded fixtures completely', () => {
    expect(parseExposition(envoyText)).toHaveLength(66);
    expect(parseExposition(traefikText)).toHaveLength(26);
  });
});

describe('scrape metric source (recorded Traefik and Envoy exposition text served over HTTP by a local server)', () => {
  let server: Server;
  let body = '';
  let status = 200;
  let ctx: PluginContext;
  const request = (key: string, input: Record<string, unknown>) => ({ key, metric: ScrapeMetric.parse({ id: 'm', source: 'scrape', endpoint: 'lb', ...input }) }) as MetricRequest<any>;
  const scrapeWith = async (text: string, requests: MetricRequest<any>[]) => {
    body = text;
    return scrapeSource.fetch(requests, ctx);
  };

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4' }).end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    status = 200;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    ctx = { endpoints: Endpoints.parse({ ...noEndpoints, scrape: { lb: { url } } }), signal: AbortSignal.timeout(10_000), state: memoryPluginStateStore() };
  });

  describe('Envoy /stats/prometheus: envoy_cluster_upstream_rq_time (ms)', () => {
    // A cluster before its first request: Envoy prints the same histogram with every count at 0.
    const fresh = envoyText.replace(/ \d+$/gm, ' 0');
    const requests = () => [
      request('api/mean', { histogram: 'envoy_cluster_upstream_rq_time', labels: { cluster: 'aaa' } }),
      request('api/p50', { histogram: 'envoy_cluster_upstream_rq_time', labels: { cluster: 'aaa' }, statistic: 'p50' }),
      request('api/p95', { histogram: 'envoy_cluster_upstream_rq_time', labels: { cluster: 'aaa' }, statistic: 'p95' }),
    ];

    it('the first scrape only records the baseline (missing, never zero)', async () => {
      const results = await scrapeWith(fresh, requests());
      expect([...results.values()]).toEqual([undefined, undefined, undefined]);
    });

    it('the next gives the mean and quantiles over the interval, interpolated as histogram_quantile', async () => {
      // Prepare
      await scrapeWith(fresh, requests());
      // Act
      const results = await scrapeWith(envoyText, requests());
      // Assert: 7 requests, 5532 ms in all; p50 rank 3.5 in (50, 100] holding 2; p95 rank 6.65 in (5000, 10000] holding 1
      expect((results.get('api/mean') as { value: number }).value).toBeCloseTo(5532 / 7, 9);
      expect((results.get('api/p50') as { value: number }).value).toBeCloseTo(50 + 50 * (1.5 / 2), 9);
      expect((results.get('api/p95') as { value: number }).value).toBeCloseTo(5000 + 5000 * (0.65 / 1), 9);
    });

    it('an interval without requests is missing; a counter reset (Envoy restarted) is missing and re-baselines', async () => {
      // Prepare
      await scrapeWith(fresh, requests());
      await scrapeWith(envoyText, requests());
      // Act
      const idle = await scrapeWith(envoyText, requests());
      const restarted = await scrapeWith(fresh, requests());
      const afterRestart = await scrapeWith(envoyText, requests());
      // Assert
      expect(idle.get('api/mean')).toBeUndefined();
      expect(restarted.get('api/mean')).toBeUndefined();
      expect((afterRestart.get('api/mean') as { value: number }).value).toBeCloseTo(5532 / 7, 9);
    });
  });

  describe('Traefik /metrics: traefik_service_request_duration_seconds (s, scaled to ms)', () => {
    /** The recorded text after 10 more 200s on readiness@http: 4 under 0.1 s, 4 in (0.1, 0.3], 2 in (0.3, 1.2]; 2.0 s in all. */
    const after10 = traefikText
      .replace(/(code="200",method="GET",protocol="http",service="readiness@http",le="0.1"\}) (\d+)/, (_m, l, v) => `${l} ${Number(v) + 4}`)
      .replace(/(code="200",method="GET",protocol="http",service="readiness@http",le="0.3"\}) (\d+)/, (_m, l, v) => `${l} ${Number(v) + 8}`)
      .replace(/(code="200",method="GET",protocol="http",service="readiness@http",le="(1\.2|5|\+Inf)"\}) (\d+)/g, (_m, l, _le, v) => `${l} ${Number(v) + 10}`)
      .replace(/(_sum\{code="200",method="GET",protocol="http",service="readiness@http"\}) ([\d.]+)/, (_m, l, v) => `${l} ${Number(v) + 2}`)
      .replace(/(_count\{code="200",method="GET",protocol="http",service="readiness@http"\}) (\d+)/, (_m, l, v) => `${l} ${Number(v) + 10}`);
    const requests = () => [
      request('web/mean', { histogram: 'traefik_service_request_duration_seconds', labels: { service: 'readiness@http' }, scale: 1000 }),
      request('web/p50', { histogram: 'traefik_service_request_duration_seconds', labels: { service: 'readiness@http' }, statistic: 'p50', scale: 1000 }),
      request('web/p99', { histogram: 'traefik_service_request_duration_seconds', labels: { service: 'readiness@http' }, statistic: 'p99', scale: 1000 }),
      request('other/mean', { histogram: 'traefik_service_request_duration_seconds', labels: { service: 'test-server-80@http' } }),
    ];

    it('sums the status codes of one service and measures only the new requests; an idle service is missing', async () => {
      // Prepare
      await scrapeWith(traefikText, requests());
      // Act
      const results = await scrapeWith(after10, requests());
      // Assert: mean 2.0 s / 10; p50 rank 5 in (0.1, 0.3] holding 4 after 4; p99 rank 9.9 in (0.3, 1.2] holding 2 after 8
      expect((results.get('web/mean') as { value: number }).value).toBeCloseTo(200, 6);
      expect((results.get('web/p50') as { value: number }).value).toBeCloseTo(1000 * (0.1 + 0.2 * (1 / 4)), 6);
      expect((results.get('web/p99') as { value: number }).value).toBeCloseTo(1000 * (0.3 + 0.9 * (1.9 / 2)), 6);
      expect(results.get('other/mean')).toBeUndefined();
    });

    it('a histogram or labels that match nothing is an error naming them; a failing endpoint fails its requests only', async () => {
      // Act
      const unknown = await scrapeWith(traefikText, [request('web/m', { histogram: 'traefik_service_request_duration_seconds', labels: { service: 'nope@docker' } })]);
      status = 503;
      const down = await scrapeWith('', [request('web/m', { histogram: 'x' })]);
      // Assert
      expect(unknown.get('web/m')).toEqual({ error: 'scrape endpoint "lb": no histogram traefik_service_request_duration_seconds with labels {"service":"nope@docker"}' });
      expect(down.get('web/m')).toEqual({ error: 'scrape endpoint "lb": HTTP 503 Service Unavailable' });
    });
  });
});
