import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Endpoints } from '../../shared/config/endpoints.ts';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { closeRedisClients, readingOf, redisSource } from '../../shared/plugins/metrics/redis/source.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';
import { RedisMetric } from '../../shared/policy/schema.ts';
import { describeWithServices } from '../support/services.ts';

const request = (key: string, input: Record<string, unknown>): MetricRequest<RedisMetric> => ({ key, metric: RedisMetric.parse({ id: 'm', source: 'redis', ...input }) });

describeWithServices('redis metric source (real Redis)', ['REDIS_URL', 'REDIS_AUTH_URL', 'REDIS_PASSWORD_FILE'], () => {
  const url = process.env.REDIS_URL!;
  const prefix = `autoscaler-test:${process.pid}:`;
  const endpoints: Endpoints = { ...noEndpoints, redis: { cache: { url }, down: { url: 'redis://127.0.0.1:1' } } };
  const ctx: PluginContext = { endpoints, signal: new AbortController().signal };
  let admin: Redis;

  beforeAll(async () => {
    admin = new Redis(url);
    await admin.del(`${prefix}queue`, `${prefix}delayed`, `${prefix}counter`, `${prefix}name`);
    await admin.rpush(`${prefix}queue`, 'a', 'b', 'c', 'd', 'e');
    await admin.zadd(`${prefix}delayed`, 1, 'x', 2, 'y', 3, 'z');
    await admin.set(`${prefix}counter`, '17');
    await admin.set(`${prefix}name`, 'not-a-number');
  });
  afterAll(async () => {
    await admin.del(`${prefix}queue`, `${prefix}delayed`, `${prefix}counter`, `${prefix}name`);
    admin.disconnect();
    await closeRedisClients();
  });

  it('reads a list length and read-only commands in one pipelined batch', async () => {
    // Prepare
    const requests = [
      request('p/queue', { endpoint: 'cache', list: `${prefix}queue` }),
      request('p/delayed', { endpoint: 'cache', command: ['ZCARD', `${prefix}delayed`] }),
      request('p/window', { endpoint: 'cache', command: ['ZCOUNT', `${prefix}delayed`, '2', '+inf'] }),
      request('p/counter', { endpoint: 'cache', command: ['GET', `${prefix}counter`] }),
      request('p/absent', { endpoint: 'cache', command: ['GET', `${prefix}no-such-key`] }),
    ];

    // Act
    const results = await redisSource.fetch(requests, ctx);

    // Assess
    expect(results.get('p/queue')).toMatchObject({ value: 5 });
    expect(results.get('p/delayed')).toMatchObject({ value: 3 });
    expect(results.get('p/window')).toMatchObject({ value: 2 });
    expect(results.get('p/counter')).toMatchObject({ value: 17 });
    expect(results.get('p/absent')).toBeUndefined();
    expect(results.has('p/absent')).toBe(true);
  });

  it('follows the list as it changes, reusing the cached client', async () => {
    // Prepare
    const requests = [request('p/queue', { endpoint: 'cache', list: `${prefix}queue` })];
    const before = await redisSource.fetch(requests, ctx);
    await admin.rpush(`${prefix}queue`, 'f', 'g');

    // Act
    const after = await redisSource.fetch(requests, ctx);

    // Assess
    expect(before.get('p/queue')).toMatchObject({ value: 5 });
    expect(after.get('p/queue')).toMatchObject({ value: 7 });
  });

  it('a non-integer reply is an error naming the metric; a wrong-type key names Redis\'s error', async () => {
    // Act
    const results = await redisSource.fetch(
      [request('p/name', { endpoint: 'cache', command: ['GET', `${prefix}name`] }), request('p/wrong', { endpoint: 'cache', list: `${prefix}delayed` })],
      ctx,
    );

    // Assess
    expect(results.get('p/name')).toEqual({ error: expect.stringMatching(/^metric p\/name \(GET on redis endpoint "cache".*not an integer/) });
    expect(results.get('p/wrong')).toEqual({ error: expect.stringMatching(/metric p\/wrong \(LLEN .*WRONGTYPE/) });
  });

  it('an unreachable endpoint becomes an error per request naming it, without hiding the good endpoint', async () => {
    // Act
    const results = await redisSource.fetch(
      [request('p/a', { endpoint: 'down', list: 'q' }), request('p/b', { endpoint: 'down', list: 'r' }), request('p/ok', { endpoint: 'cache', list: `${prefix}queue` }), request('p/unknown', { endpoint: 'nowhere', list: 'q' })],
      ctx,
    );

    // Assess
    expect(results.get('p/a')).toEqual({ error: expect.stringContaining('redis endpoint "down" (redis://127.0.0.1:1)') });
    expect(results.get('p/b')).toEqual({ error: expect.stringContaining('redis endpoint "down"') });
    expect(results.get('p/ok')).toMatchObject({ value: expect.any(Number) });
    expect(results.get('p/unknown')).toEqual({ error: expect.stringContaining('unknown redis endpoint "nowhere"') });
  });

  it('a password from a file authenticates; a wrong one fails naming the endpoint, and neither appears in errors or logs', async () => {
    // Prepare: REDIS_AUTH_URL requires the password kept in REDIS_PASSWORD_FILE.
    const dir = mkdtempSync(join(tmpdir(), 'redis-pw-'));
    const wrongFile = join(dir, 'password');
    writeFileSync(wrongFile, 'S3cret-Hunter2\n');
    const rightPassword = readFileSync(process.env.REDIS_PASSWORD_FILE!, 'utf8').trim();
    const withPassword: PluginContext = {
      ...ctx,
      endpoints: {
        ...endpoints,
        redis: { locked: { url: process.env.REDIS_AUTH_URL!, password: { file: process.env.REDIS_PASSWORD_FILE! } }, wrong: { url: process.env.REDIS_AUTH_URL!, password: { file: wrongFile } } },
      },
    };
    const logged: string[] = [];
    const spies = (['log', 'warn', 'error', 'info', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation((...args) => void logged.push(args.join(' '))));

    // Act
    const results = await redisSource.fetch([request('p/ok', { endpoint: 'locked', command: ['DBSIZE'] }), request('p/q', { endpoint: 'wrong', command: ['DBSIZE'] })], withPassword);
    spies.forEach((s) => s.mockRestore());

    // Assess
    expect(results.get('p/ok')).toMatchObject({ value: expect.any(Number) });
    const failed = results.get('p/q') as { error: string };
    expect(failed.error).toMatch(/redis endpoint "wrong" \(redis:\/\/127.0.0.1:18380\)/);
    expect(failed.error).toMatch(/WRONGPASS|AUTH|password/i);
    const everything = JSON.stringify([...results.values()]) + logged.join('\n');
    expect(everything).not.toContain('S3cret-Hunter2');
    expect(everything).not.toContain(rightPassword);
  });
});

it('the policy schema rejects a command that is not read-only (a write cannot be configured)', () => {
  // Act
  const write = RedisMetric.safeParse({ id: 'm', source: 'redis', endpoint: 'cache', command: ['DEL', 'queue'] });
  const flush = RedisMetric.safeParse({ id: 'm', source: 'redis', endpoint: 'cache', command: ['FLUSHALL'] });
  const read = RedisMetric.safeParse({ id: 'm', source: 'redis', endpoint: 'cache', command: ['LLEN', 'queue'] });

  // Assess
  expect(write.success).toBe(false);
  expect(flush.success).toBe(false);
  expect(read.success).toBe(true);
});

it('an unvalidated write command reaching the source is refused before any connection (no Redis needed)', async () => {
  // Prepare
  const ctx: PluginContext = { endpoints: { ...noEndpoints, redis: { cache: { url: 'redis://127.0.0.1:1' } } }, signal: new AbortController().signal };
  const sneaky = { key: 'p/del', metric: { id: 'm', source: 'redis', endpoint: 'cache', command: ['DEL', 'queue'] } } as unknown as MetricRequest<RedisMetric>;

  // Act
  const results = await redisSource.fetch([sneaky], ctx);

  // Assess
  expect(results.get('p/del')).toEqual({ error: expect.stringMatching(/^metric p\/del: command/) });
});

it('readingOf: integers, numeric strings, nil and XPENDING summaries; anything else is an error', () => {
  // Act / Assess
  expect(readingOf(4, 'm', 1)).toEqual({ value: 4, timestamp: 1 });
  expect(readingOf('12', 'm', 1)).toEqual({ value: 12, timestamp: 1 });
  expect(readingOf(null, 'm', 1)).toBeUndefined();
  expect(readingOf([3, '1-0', '5-0', []], 'm', 1)).toEqual({ value: 3, timestamp: 1 });
  expect(readingOf('abc', 'metric x', 1)).toEqual({ error: 'metric x: the reply is not an integer (got "abc")' });
});
