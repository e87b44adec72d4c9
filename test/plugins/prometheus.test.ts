/**
 * The prometheus metric source: answers read without a server; then a real Prometheus server
 * (scripts/services/prometheus.sh, scraping itself and HAProxy's exporter); auth and the per-endpoint
 * bound against a local HTTP server that forwards to it; AMP's SigV4 against a local server that
 * verifies the signature the way AWS does (recomputes it with the same credentials and date).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Endpoints, noEndpoints } from '../../shared/config/endpoints.ts';
import { checkEndpoints } from '../../infra/endpoints-check.ts';
import { PrometheusMetric } from '../../shared/plugins/metrics/prometheus/descriptor.ts';
import { createPrometheusSource, prometheusSource, queriesInFlightPerEndpoint, readInstantQuery } from '../../shared/plugins/metrics/prometheus/source.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { describeWithServices } from '../support/services.ts';

const request = (key: string, query: string, endpoint = 'prom') => ({ key, metric: PrometheusMetric.parse({ id: 'm', source: 'prometheus', endpoint, query }) }) as MetricRequest<any>;
const contextWith = (prometheus: Record<string, unknown>, getSecret?: (id: string) => Promise<string>): PluginContext => ({
  endpoints: Endpoints.parse({ ...noEndpoints, prometheus }),
  signal: AbortSignal.timeout(20_000),
  ...(getSecret ? { getSecret } : {}),
});

async function listen(handler: (req: IncomingMessage, body: string) => Promise<{ status: number; body: string }>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      handler(req, body).then(
        (answer) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body),
        (err) => res.writeHead(500).end(String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('readInstantQuery (the Prometheus HTTP API answer format)', () => {
  const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1_700_000_000.5, v] })) } });

  it('one series is a reading with the sample time', () => {
    expect(readInstantQuery(vector('12.5'), 'web', 'q')).toEqual({ value: 12.5, timestamp: 1_700_000_000_500 });
  });
  it('no series is missing, never zero', () => {
    expect(readInstantQuery(vector(), 'web', 'q')).toBeUndefined();
  });
  it('several series is an error naming the policy and the count', () => {
    expect(readInstantQuery(vector('1', '2', '3'), 'web', 'up')).toEqual({ error: 'policy web: query "up" returned 3 series, expected one (aggregate it, e.g. sum(…) or max(…))' });
  });
  it('NaN, +Inf and -Inf are missing', () => {
    for (const v of ['NaN', '+Inf', '-Inf']) expect(readInstantQuery(vector(v), 'web', 'q')).toBeUndefined();
  });
  it('a scalar is a reading; a matrix is an error naming the result type', () => {
    expect(readInstantQuery({ status: 'success', data: { resultType: 'scalar', result: [1_700_000_001, '4'] } }, 'web', 'q')).toEqual({ value: 4, timestamp: 1_700_000_001_000 });
    expect(readInstantQuery({ status: 'success', data: { resultType: 'matrix', result: [] } }, 'web', 'q[1m]')).toEqual({ error: 'policy web: query "q[1m]" returned a matrix result, expected an instant vector or a scalar' });
  });
  it('an error answer names the policy, the query and the server\'s error', () => {
    expect(readInstantQuery({ status: 'error', errorType: 'bad_data', error: 'parse error' }, 'web', 'sum(')).toEqual({ error: 'policy web: query "sum(" failed: bad_data: parse error' });
  });
});

describe('prometheus in the policy schema and the endpoints (catalog)', () => {
  it('a policy with a prometheus metric validates, the endpoint defaulting to "default"', () => {
    const policy = Policy.parse({
      id: 'web', target: { type: 'kubernetes', cluster: 'c', namespace: 'default', kind: 'Deployment', name: 'web' }, capacity: { min: 1, max: 5 },
      metrics: [{ id: 'rps', source: 'prometheus', query: 'sum(rate(http_requests_total[2m]))' }], rule: { type: 'target', metric: 'rps', perReplica: 100 },
    });
    expect(policy.metrics[0]).toEqual({ id: 'rps', source: 'prometheus', endpoint: 'default', query: 'sum(rate(http_requests_total[2m]))' });
  });
  it('the Lambda checks refuse credentials over plain http and secrets from files', () => {
    const check = () => checkEndpoints({ prometheus: { self: { url: 'http://prom.internal:9090', bearerToken: { file: '/tmp/token' } } } }, { eksClusterNames: [], grantedSecretIds: new Set() });
    expect(check).toThrow('endpoints.prometheus.self: credentials over plain http ("http://prom.internal:9090") would cross the network in clear; use https');
    expect(check).toThrow('endpoints.prometheus.self.bearerToken: a file ("/tmp/token") does not exist in Lambda; use { secretId } (Secrets Manager)');
  });
  it('an endpoint with both basic and bearer auth is refused', () => {
    const parsed = Endpoints.safeParse({ prometheus: { p: { url: 'https://p', basic: { username: 'u', password: { secretId: 's' } }, bearerToken: { secretId: 't' } } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toBe('set at most one of basic or bearerToken');
  });
});

describeWithServices('prometheus metric source (real Prometheus server)', ['PROMETHEUS_URL'], () => {
  const url = process.env.PROMETHEUS_URL!;
  let ctx: PluginContext;

  beforeAll(async () => {
    ctx = contextWith({ prom: { url } });
    // Wait (bounded) for the first self-scrape: before it, `up` has no series at all.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const result = (await prometheusSource.fetch([request('wait/up', 'up{job="prometheus"}')], ctx)).get('wait/up');
      if (result && 'value' in result) return;
      if (Date.now() > deadline) throw new Error(`Prometheus at ${url} has not scraped itself: ${JSON.stringify(result)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('reads one series, holds on none, refuses several, and treats NaN/Inf as missing, in one batch', async () => {
    // Prepare
    const twoSeries = 'label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")';
    const requests = [
      request('web/up', 'up{job="prometheus"}'),
      request('web/none', 'up{job="no_such_job"}'),
      request('api/two', twoSeries),
      request('web/nan', '0/0'),
      request('web/inf', 'vector(1)/0'),
      request('web/bad', 'sum('),
    ];
    // Act
    const results = await prometheusSource.fetch(requests, ctx);
    // Assert
    expect(results.get('web/up')).toMatchObject({ value: 1 });
    expect(results.get('web/none')).toBeUndefined();
    expect(results.get('api/two')).toEqual({ error: `policy api: query ${JSON.stringify(twoSeries)} returned 2 series, expected one (aggregate it, e.g. sum(…) or max(…))` });
    expect(results.get('web/nan')).toBeUndefined();
    expect(results.get('web/inf')).toBeUndefined();
    expect((results.get('web/bad') as { error: string }).error).toMatch(/^policy web: query "sum\(" failed: bad_data: /);
    expect(results.size).toBe(requests.length);
  });

  it('an unknown or unreachable endpoint fails only the policies that use it', async () => {
    // Prepare
    const mixed = contextWith({ prom: { url }, down: { url: 'http://127.0.0.1:1' } });
    // Act
    const results = await prometheusSource.fetch([request('a/m', 'vector(3)'), request('b/m', 'vector(3)', 'down'), request('c/m', 'vector(3)', 'nowhere')], mixed);
    // Assert
    expect(results.get('a/m')).toMatchObject({ value: 3 });
    expect((results.get('b/m') as { error: string }).error).toMatch(/^prometheus endpoint "down": policy b: /);
    expect(results.get('c/m')).toEqual({ error: 'unknown prometheus endpoint "nowhere" (configured: prom, down)' });
  });

  describe('behind an authenticating proxy (local HTTP server forwarding to the real Prometheus)', () => {
    let proxy: { server: Server; url: string };
    let inFlight = 0;
    let maxInFlight = 0;
    const seenAuthorization: string[] = [];
    beforeAll(async () => {
      proxy = await listen(async (req) => {
        seenAuthorization.push(req.headers.authorization ?? '');
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          const expected = ['Basic ' + Buffer.from('scaler:s3cret').toString('base64'), 'Bearer tok-123'];
          if (!expected.includes(req.headers.authorization ?? '')) return { status: 401, body: 'unauthorized' };
          const upstream = await fetch(`${url}${req.url}`);
          return { status: upstream.status, body: await upstream.text() };
        } finally {
          inFlight--;
        }
      });
    });
    afterAll(() => proxy?.server.close());

    it('sends basic auth and bearer tokens read from secrets, and names the status when refused', async () => {
      // Prepare
      const secrets: Record<string, string> = { 'prom-password': 's3cret\n', 'prom-token': JSON.stringify({ token: 'tok-123' }) };
      const authCtx = contextWith(
        {
          basic: { url: proxy.url, basic: { username: 'scaler', password: { secretId: 'prom-password' } } },
          bearer: { url: proxy.url, bearerToken: { secretId: 'prom-token', jsonKey: 'token' } },
          none: { url: proxy.url },
        },
        async (id) => secrets[id]!,
      );
      // Act
      const results = await prometheusSource.fetch([request('p/basic', 'vector(5)', 'basic'), request('p/bearer', 'vector(6)', 'bearer'), request('p/none', 'vector(7)', 'none')], authCtx);
      // Assert
      expect(results.get('p/basic')).toMatchObject({ value: 5 });
      expect(results.get('p/bearer')).toMatchObject({ value: 6 });
      expect(results.get('p/none')).toEqual({ error: 'prometheus endpoint "none": policy p: HTTP 401 Unauthorized' });
    });

    it(`runs at most ${queriesInFlightPerEndpoint} queries at once per endpoint, and answers every one`, async () => {
      // Prepare
      maxInFlight = 0;
      const authCtx = contextWith({ bearer: { url: proxy.url, bearerToken: { secretId: 't' } } }, async () => 'tok-123');
      const requests = Array.from({ length: 12 }, (_, i) => request(`p${i}/m`, `vector(${i})`, 'bearer'));
      // Act
      const results = await prometheusSource.fetch(requests, authCtx);
      // Assert
      expect(maxInFlight).toBeLessThanOrEqual(queriesInFlightPerEndpoint);
      expect(requests.map((r) => (results.get(r.key) as { value: number }).value)).toEqual(requests.map((_, i) => i));
    });
  });
});

describeWithServices('prometheus metric source on HAProxy\'s built-in exporter (real Prometheus scraping real HAProxy)', ['PROMETHEUS_URL', 'HAPROXY_PROMETHEUS_EXPORTER'], () => {
  it('reads an HAProxy backend series through PromQL', async () => {
    // Prepare
    const ctx = contextWith({ prom: { url: process.env.PROMETHEUS_URL! } });
    const query = `max(haproxy_backend_status{proxy="${process.env.HAPROXY_BACKEND ?? 'web'}"})`;
    const deadline = Date.now() + 60_000;
    let result = (await prometheusSource.fetch([request('lb/status', query)], ctx)).get('lb/status');
    // Act: the first scrape of HAProxy may not have happened yet
    while (result === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      result = (await prometheusSource.fetch([request('lb/status', query)], ctx)).get('lb/status');
    }
    // Assert: a backend is up (1) or down (0); either is one finite reading
    expect(result).toMatchObject({ value: expect.any(Number) });
  });
});

describe('prometheus metric source on AMP (local server verifying SigV4 as AWS does)', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
  let amp: { server: Server; url: string };
  const verdicts: string[] = [];
  beforeAll(async () => {
    amp = await listen(async (req) => {
      const url = new URL(req.url!, 'http://placeholder');
      const amzDate = req.headers['x-amz-date'] as string;
      const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
      const signer = new SignatureV4({ credentials, region: 'eu-west-1', service: 'aps', sha256: Sha256 });
      const expected = await signer.sign(
        { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: Number(req.headers.host!.split(':')[1]), path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { host: req.headers.host! } },
        { signingDate },
      );
      const valid = req.headers.authorization === expected.headers.authorization && req.headers['x-amz-security-token'] === 'session-token';
      verdicts.push(`${url.pathname} ${valid ? 'valid' : 'invalid'} ${String(req.headers.authorization).split(',')[0]}`);
      if (!valid) return { status: 403, body: JSON.stringify({ message: 'The request signature we calculated does not match the signature you provided.' }) };
      return { status: 200, body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1_700_000_000, '42'] }] } }) };
    });
  });
  afterAll(() => amp?.server.close());

  it('a request signed with other credentials is refused by the verifier (the check is real)', async () => {
    // Prepare
    const source = createPrometheusSource({ credentials: async () => ({ ...credentials, secretAccessKey: 'another-key' }), ampBaseUrl: (w) => `${amp.url}/workspaces/${w.workspaceId}` });
    const ctx = contextWith({ amp: { amp: { workspaceId: 'ws-0123abcd', region: 'eu-west-1' } } });
    // Act
    const results = await source.fetch([request('web/m', 'vector(1)', 'amp')], ctx);
    // Assert
    expect(results.get('web/m')).toEqual({ error: 'prometheus endpoint "amp": policy web: HTTP 403 Forbidden: The request signature we calculated does not match the signature you provided.' });
    verdicts.length = 0;
  });

  it('signs each query for service aps in the workspace\'s region with the function\'s credentials', async () => {
    // Prepare
    const source = createPrometheusSource({ credentials: async () => credentials, ampBaseUrl: (w) => `${amp.url}/workspaces/${w.workspaceId}` });
    const ctx = contextWith({ amp: { amp: { workspaceId: 'ws-0123abcd', region: 'eu-west-1' } } });
    // Act
    const results = await source.fetch([request('web/m', 'sum(rate(x[1m]))', 'amp')], ctx);
    // Assert
    expect(results.get('web/m')).toEqual({ value: 42, timestamp: 1_700_000_000_000 });
    expect(verdicts).toEqual([expect.stringMatching(/^\/workspaces\/ws-0123abcd\/api\/v1\/query valid AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aps\/aws4_request$/)]);
  });
});
