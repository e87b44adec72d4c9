/**
 * Redis list lengths and integer results of read-only commands, via ioredis. Clients are cached
 * per endpoint at module scope (a warm Lambda reuses its connections); one pipeline per endpoint
 * per batch. The password comes from a file or Secrets Manager and never appears in a message.
 *
 * ioredis is loaded by dynamic import() on the first client creation only: the handler bundles
 * leave it outside (infra/bundling.ts `nodeModules`), and a static import would be hoisted to the
 * bundle's top and loaded at every cold start. The global marker lets the bundle tests see whether
 * it was loaded.
 */
import type { Redis } from 'ioredis';
import type { RedisEndpoint } from '../../../config/endpoints.ts';
import { endpointNamed } from '../../../config/endpoints.ts';
import { readSecretOrFile } from '../../../config/secret-or-file.ts';
import { lazyLibrary } from '../../lazy.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import { RedisMetric } from '../../../policy/schema.ts';

/** The command a metric runs: `list` is shorthand for LLEN. */
export function commandOf(metric: RedisMetric): [string, ...string[]] {
  if (metric.list !== undefined) return ['LLEN', metric.list];
  if (metric.command) return [...metric.command] as [string, ...string[]];
  throw new Error('set exactly one of list or command');
}

/**
 * Turns one reply into a reading. Integer replies are the norm; a bulk string holding a decimal
 * number is accepted too (GET/HGET/LINDEX of a counter), nil is "no datapoint" (never zero), and
 * XPENDING's summary gives its count. Anything else is an error naming the metric.
 */
export function readingOf(reply: unknown, what: string, now: number): MetricResult {
  if (reply === null) return undefined;
  if (typeof reply === 'number' && Number.isFinite(reply)) return { value: reply, timestamp: now };
  if (typeof reply === 'string' && /^-?\d+(\.\d+)?$/.test(reply)) return { value: Number(reply), timestamp: now };
  if (Array.isArray(reply) && typeof reply[0] === 'number') return { value: reply[0], timestamp: now };
  const shown = typeof reply === 'string' ? JSON.stringify(reply.slice(0, 40)) : Array.isArray(reply) ? 'an array' : typeof reply;
  return { error: `${what}: the reply is not an integer (got ${shown})` };
}

/** `redis endpoint "name" (redis://host:port/db)`: the URL schema has no credentials in it. */
function endpointLabel(name: string, endpoint: RedisEndpoint): string {
  return `redis endpoint "${name}" (${endpoint.url})`;
}

async function passwordOf(name: string, endpoint: RedisEndpoint, ctx: PluginContext): Promise<string | undefined> {
  const item = endpoint.password;
  if (!item) return undefined;
  // A password file usually ends with a newline that is not part of the password.
  return (await readSecretOrFile(item, 'the password', endpointLabel(name, endpoint), ctx)).trim();
}

const ioredis = lazyLibrary('ioredis', async () => (await import('ioredis')).Redis);

const clients = new Map<string, Promise<Redis>>();
const lastErrors = new WeakMap<Redis, string>();

async function createClient(name: string, endpoint: RedisEndpoint, ctx: PluginContext, cacheKey: string): Promise<Redis> {
  const password = await passwordOf(name, endpoint, ctx);
  const RedisClient = await ioredis();
  const client = new RedisClient(endpoint.url, {
    password,
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 0,
    // A Lambda invocation should fail fast and let the next evaluation try again, not retry forever.
    retryStrategy: (times: number) => (times > 2 ? null : 100 * times),
    enableReadyCheck: false,
    // Connection errors surface through the commands that fail; nothing is printed (no secret can leak).
    showFriendlyErrorStack: false,
  });
  // ioredis reports why a connection failed (WRONGPASS, ECONNREFUSED) only as an event; keep it for the message.
  client.on('error', (err: Error) => lastErrors.set(client, err.message));
  client.on('ready', () => lastErrors.delete(client));
  client.on('end', () => clients.delete(cacheKey));
  return client;
}

function clientFor(name: string, endpoint: RedisEndpoint, ctx: PluginContext): Promise<Redis> {
  const cacheKey = `${name}\u0000${JSON.stringify(endpoint)}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = createClient(name, endpoint, ctx, cacheKey);
    clients.set(cacheKey, client);
    client.catch(() => clients.delete(cacheKey));
  }
  return client;
}

/** Closes every cached client (tests, and `release` when a process ends; a Lambda never needs to). */
export async function closeRedisClients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map(async (c) => (await c.catch(() => undefined))?.disconnect()));
}

/** Keeps messages free of the password even if a library ever echoed it. */
function scrub(message: string, secret: string | undefined): string {
  return secret ? message.split(secret).join('***') : message;
}

async function fetchEndpoint(name: string, batch: readonly MetricRequest<RedisMetric>[], ctx: PluginContext, results: Map<string, MetricResult>): Promise<void> {
  let endpoint: RedisEndpoint;
  try {
    endpoint = endpointNamed(ctx.endpoints, 'redis', name) as RedisEndpoint;
  } catch (err) {
    for (const request of batch) results.set(request.key, { error: (err as Error).message });
    return;
  }
  const label = endpointLabel(name, endpoint);
  // Requests that bypassed policy validation (or a future caller) still cannot run a write command.
  const runnable: { request: MetricRequest<RedisMetric>; command: [string, ...string[]] }[] = [];
  for (const request of batch) {
    const checked = RedisMetric.safeParse(request.metric);
    if (!checked.success) {
      results.set(request.key, { error: `metric ${request.key}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    } else {
      runnable.push({ request, command: commandOf(checked.data) });
    }
  }
  if (runnable.length === 0) return;
  let password: string | undefined;
  let client: Redis | undefined;
  try {
    client = await clientFor(name, endpoint, ctx);
    password = endpoint.password ? (client.options.password ?? undefined) : undefined;
    if (client.status === 'wait') await untilAborted(client.connect(), ctx.signal);
    const pipeline = client.pipeline();
    for (const { command } of runnable) pipeline.call(command[0], ...command.slice(1));
    // ioredis takes no AbortSignal: the read stops waiting at the evaluation's deadline (the shared
    // connection is kept; its late reply is dropped).
    const replies = (await untilAborted(pipeline.exec(), ctx.signal)) ?? [];
    const now = Date.now();
    runnable.forEach(({ request, command }, i) => {
      const [err, reply] = replies[i] ?? [new Error('no reply'), undefined];
      const what = `metric ${request.key} (${command[0]} on ${label})`;
      results.set(request.key, err ? { error: `${what}: ${scrub(err.message, password)}` } : readingOf(reply, what, now));
    });
  } catch (err) {
    const cause = client ? lastErrors.get(client) : undefined;
    const own = (err as Error).message;
    const message = scrub(cause && !own.includes(cause) ? `${own} (${cause})` : own, password);
    for (const { request } of runnable) results.set(request.key, { error: message.startsWith(label) ? message : `${label}: ${message}` });
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('cancelled: the evaluation\'s deadline passed'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export const redisSource: MetricSource<RedisMetric> = {
  source: 'redis',
  async fetch(requests: ReadonlyArray<MetricRequest<RedisMetric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    const results = new Map<string, MetricResult>();
    const byEndpoint = new Map<string, MetricRequest<RedisMetric>[]>();
    for (const request of requests) {
      const list = byEndpoint.get(request.metric.endpoint) ?? [];
      list.push(request);
      byEndpoint.set(request.metric.endpoint, list);
    }
    await Promise.all([...byEndpoint].map(([name, batch]) => fetchEndpoint(name, batch, ctx, results)));
    return results;
  },
  release: closeRedisClients,
};
