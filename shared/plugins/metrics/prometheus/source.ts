/**
 * PromQL instant queries (`GET <base>/api/v1/query?query=…`), grouped per endpoint and run a few at
 * a time per endpoint (the Prometheus HTTP API has no batch query). One series is a reading; no
 * series, NaN or ±Inf is a missing datapoint (never zero); several series is an error naming the
 * policy and the count. AMP workspaces get SigV4-signed requests (service `aps`) with the
 * function's own credentials; a self-hosted server optional basic or bearer auth from a secret.
 */
import type * as z from 'zod/mini';
import { cloudWatchClient } from '../../../aws/clients.ts';
import { endpointNamed } from '../../../config/endpoints.ts';
import { readSecretOrFile } from '../../../config/secret-or-file.ts';
import { lazyLibrary } from '../../lazy.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import { ampBaseUrl, type PrometheusEndpoint, type PrometheusMetric } from './descriptor.ts';

type Metric = z.output<typeof PrometheusMetric>;
type Endpoint = z.output<typeof PrometheusEndpoint>;

/** Queries in flight at once per endpoint: enough to hide latency, few enough not to load the server. */
export const queriesInFlightPerEndpoint = 4;
/** A query's answer larger than this is refused (a query for one value has no reason to be large). */
export const maxResponseBytes = 1_000_000;

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface PrometheusSourceOptions {
  /** The function's credentials for SigV4 (default: the SDK's default chain, loaded on first AMP use). */
  readonly credentials?: (region: string) => Promise<AwsCredentials>;
  /** Where an AMP workspace's API is (tests point it at a local server speaking the same protocol). */
  readonly ampBaseUrl?: (amp: { workspaceId: string; region: string }) => string;
}

/** Reads one instant-query answer (pure: tested without a server). */
export function readInstantQuery(body: unknown, policyId: string, query: string): MetricResult {
  const answer = body as { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  if (answer?.status !== 'success') return { error: `policy ${policyId}: query ${JSON.stringify(query)} failed: ${answer?.errorType ?? 'error'}: ${answer?.error ?? 'no status in the answer'}` };
  const { resultType, result } = answer.data ?? {};
  let sample: unknown;
  if (resultType === 'scalar') {
    sample = result;
  } else if (resultType === 'vector' && Array.isArray(result)) {
    if (result.length === 0) return undefined;
    if (result.length > 1) return { error: `policy ${policyId}: query ${JSON.stringify(query)} returned ${result.length} series, expected one (aggregate it, e.g. sum(…) or max(…))` };
    sample = (result[0] as { value?: unknown }).value;
  } else {
    return { error: `policy ${policyId}: query ${JSON.stringify(query)} returned a ${resultType ?? 'missing'} result, expected an instant vector or a scalar` };
  }
  if (!Array.isArray(sample) || sample.length !== 2) return { error: `policy ${policyId}: query ${JSON.stringify(query)}: malformed sample` };
  const value = Number(sample[1]);
  // Prometheus writes NaN and ±Inf as strings; neither is a reading (e.g. a rate over no requests).
  if (!Number.isFinite(value)) return undefined;
  return { value, timestamp: Math.round(Number(sample[0]) * 1000) };
}

const sigV4Library = lazyLibrary('sigV4', async () => {
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([import('@smithy/signature-v4'), import('@aws-crypto/sha256-js')]);
  return { SignatureV4, Sha256 };
});
/**
 * The function's own credentials through the SDK's default chain, borrowed from the CloudWatch
 * client every evaluation already has (bundled and loaded): no other client to load for AMP.
 */
async function defaultCredentials(region: string): Promise<AwsCredentials> {
  return (await cloudWatchClient(region).config.credentials()) as AwsCredentials;
}

/** A function that sends one query to one endpoint and returns the parsed JSON answer. */
type Query = (query: string, signal: AbortSignal) => Promise<unknown>;

async function queryFunction(endpointName: string, endpoint: Endpoint, ctx: PluginContext, options: PrometheusSourceOptions): Promise<{ label: string; send: Query }> {
  const label = `prometheus endpoint "${endpointName}"`;
  const read = async (url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<unknown> => {
    const response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal });
    const text = await response.text();
    if (text.length > maxResponseBytes) throw new Error(`answer of ${text.length} bytes, more than ${maxResponseBytes}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // 4xx/5xx from a proxy in front of Prometheus is not JSON: name the status, not the body.
      throw new Error(`HTTP ${response.status} ${response.statusText || ''}`.trim() + (response.ok ? ': not JSON' : ''));
    }
    // Prometheus answers a bad query with 400 and {status: "error"} (read as such); anything else
    // that failed (AMP's 403 on a bad signature or a missing aps:QueryMetrics) names its status.
    if (!response.ok && (parsed as { status?: unknown })?.status === undefined) {
      const message = (parsed as { message?: unknown })?.message;
      throw new Error(`HTTP ${response.status} ${response.statusText || ''}`.trim() + (typeof message === 'string' ? `: ${message.slice(0, 200)}` : ''));
    }
    return parsed;
  };
  if ('amp' in endpoint) {
    const base = new URL(`${(options.ampBaseUrl ?? ampBaseUrl)(endpoint.amp)}/api/v1/query`);
    const { SignatureV4, Sha256 } = await sigV4Library();
    const credentials = await (options.credentials ?? defaultCredentials)(endpoint.amp.region);
    const signer = new SignatureV4({ credentials, region: endpoint.amp.region, service: 'aps', sha256: Sha256 });
    return {
      label,
      send: async (query, signal) => {
        const url = new URL(base);
        url.searchParams.set('query', query);
        const signed = await signer.sign({
          method: 'GET',
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query: { query },
          headers: { host: url.host },
        });
        const { host: _host, ...headers } = signed.headers as Record<string, string>;
        return read(url, headers, signal);
      },
    };
  }
  const headers: Record<string, string> = {};
  if (endpoint.basic) {
    const password = (await readSecretOrFile(endpoint.basic.password, 'the basic auth password', label, ctx)).trim();
    headers.authorization = `Basic ${Buffer.from(`${endpoint.basic.username}:${password}`).toString('base64')}`;
  } else if (endpoint.bearerToken) {
    headers.authorization = `Bearer ${(await readSecretOrFile(endpoint.bearerToken, 'the bearer token', label, ctx)).trim()}`;
  }
  const base = new URL(`${endpoint.url.replace(/\/+$/, '')}/api/v1/query`);
  return {
    label,
    send: (query, signal) => {
      const url = new URL(base);
      url.searchParams.set('query', query);
      return read(url, headers, signal);
    },
  };
}

/** Runs `work` over `items`, at most `limit` at once. */
async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function createPrometheusSource(options: PrometheusSourceOptions = {}): MetricSource<Metric> {
  return {
    source: 'prometheus',
    async fetch(requests: ReadonlyArray<MetricRequest<Metric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
      const results = new Map<string, MetricResult>();
      const byEndpoint = new Map<string, MetricRequest<Metric>[]>();
      for (const request of requests) byEndpoint.set(request.metric.endpoint, [...(byEndpoint.get(request.metric.endpoint) ?? []), request]);
      await Promise.all(
        [...byEndpoint].map(async ([endpointName, batch]) => {
          let connection: { label: string; send: Query };
          try {
            connection = await queryFunction(endpointName, endpointNamed(ctx.endpoints, 'prometheus', endpointName), ctx, options);
          } catch (err) {
            // One endpoint's configuration or credentials failing affects only the policies that use it.
            for (const request of batch) results.set(request.key, { error: (err as Error).message });
            return;
          }
          await eachBounded(batch, queriesInFlightPerEndpoint, async (request) => {
            const policyId = request.key.slice(0, request.key.lastIndexOf('/'));
            try {
              results.set(request.key, readInstantQuery(await connection.send(request.metric.query, ctx.signal), policyId, request.metric.query));
            } catch (err) {
              results.set(request.key, { error: `${connection.label}: policy ${policyId}: ${(err as Error).message}` });
            }
          });
        }),
      );
      return results;
    },
  };
}

export const prometheusSource = createPrometheusSource();
