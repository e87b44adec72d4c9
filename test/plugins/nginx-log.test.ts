/**
 * The nginx-log metric source (nginx response time from its access log): the pure parsing of
 * Docker's log stream and of both documented log formats, then real nginx in a container on the
 * test Docker engine (NGINX_IMAGE), proxying to an upstream in this process that holds each
 * response for a known delay, read through the Docker endpoint's client.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Endpoints, noEndpoints } from '../../shared/config/endpoints.ts';
import { dockerTimestampNanos, parseDockerLogs, responseTimeOf, sinceParameter, summarise } from '../../shared/plugins/metrics/nginx-log/access-log.ts';
import { NginxLogMetric } from '../../shared/plugins/metrics/nginx-log/descriptor.ts';
import { nginxLogSource } from '../../shared/plugins/metrics/nginx-log/source.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import type { MetricRequest, PluginContext } from '../../shared/plugins/types.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { startMember, waitFor, type HttpMember } from '../loadbalancers/http-members.ts';
import { describeWithServices } from '../support/services.ts';

/** One frame of Docker's multiplexed log stream (stream 1 = stdout). */
const frame = (text: string) => {
  const header = Buffer.alloc(8);
  header[0] = 1;
  header.writeUInt32BE(Buffer.byteLength(text), 4);
  return Buffer.concat([header, Buffer.from(text)]);
};

describe('nginx access-log parsing (pure)', () => {
  it('reads Docker timestamps to the nanosecond and writes them back as the since parameter', () => {
    // Act
    const nanos = dockerTimestampNanos('2026-12-01T03:14:16.000012345Z')!;
    // Assert
    expect(nanos).toBe(BigInt(Date.parse('2026-12-01T03:14:16Z')) * 1_000_000n + 12_345n);
    expect(sinceParameter(nanos)).toBe(`${Date.parse('2026-12-01T03:14:16Z') / 1000}.000012345`);
    expect(dockerTimestampNanos('yesterday')).toBeUndefined();
  });

  it('splits multiplexed frames and raw (TTY) text alike; a line without a timestamp is counted', () => {
    // Prepare
    const lines = ['2026-12-01T03:14:16.100000000Z request_time=0.010', '2026-12-01T03:14:16.200000000Z request_time=0.020'];
    // Act
    const multiplexed = parseDockerLogs(Buffer.concat([frame(`${lines[0]}\n`), frame(`${lines[1]}\n`), frame('no timestamp\n')]));
    const raw = parseDockerLogs(Buffer.from(`${lines[0]}\r\n${lines[1]}\r\n`));
    // Assert
    for (const parsed of [multiplexed, raw]) expect(parsed.entries.map((e) => e.line)).toEqual(['request_time=0.010', 'request_time=0.020']);
    expect(multiplexed.entries[1]!.at - multiplexed.entries[0]!.at).toBe(100_000_000n);
    expect(multiplexed.unparsed).toBe(1);
    expect(raw.unparsed).toBe(0);
  });

  it('reads both documented formats; upstream times of several tries are summed; "-" is no upstream', () => {
    expect(responseTimeOf('request_time=0.250 upstream_response_time="0.248" status=200', 'request_time')).toBe(0.25);
    expect(responseTimeOf('request_time=0.250 upstream_response_time="0.248" status=200', 'upstream_response_time')).toBe(0.248);
    expect(responseTimeOf('{"request_time":"1.500","upstream_response_time":"0.100, 1.300 : 0.050"}', 'upstream_response_time')).toBeCloseTo(1.45, 9);
    expect(responseTimeOf('request_time=0.000 upstream_response_time="-"', 'upstream_response_time')).toBeNull();
    expect(responseTimeOf('{"request_time":"0.001","upstream_response_time":""}', 'upstream_response_time')).toBeNull();
    expect(responseTimeOf('127.0.0.1 - - [01/Dec/2026:03:14:16 +0000] "GET / HTTP/1.1" 200 5', 'request_time')).toBeUndefined();
    expect(responseTimeOf('request_time=soon', 'request_time')).toBeUndefined();
    expect(responseTimeOf('{"request_time": broken', 'request_time')).toBeUndefined();
  });

  it('gives the mean or the nearest-rank quantile in ms, skipping and counting malformed lines', () => {
    // Prepare
    const lines = ['request_time=0.100', 'request_time=0.200', 'combined format line', 'request_time=0.300', 'request_time=0.400'];
    // Act / Assert
    expect(summarise(lines, 'request_time', 'mean')).toEqual({ value: expect.closeTo(250, 9), requests: 4, malformed: 1, withoutUpstream: 0 });
    expect(summarise(lines, 'request_time', { quantile: 0.5 }).value).toBeCloseTo(200, 9);
    expect(summarise(lines, 'request_time', { quantile: 0.95 }).value).toBeCloseTo(400, 9);
    expect(summarise([], 'request_time', 'mean')).toEqual({ value: undefined, requests: 0, malformed: 0, withoutUpstream: 0 });
  });

  it('the metric schema names the field and what is allowed', () => {
    const result = NginxLogMetric.safeParse({ id: 'latency', source: 'nginx-log', endpoint: 'edge-1', container: 'nginx', field: 'upstream_time' });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(/field.*request_time.*upstream_response_time|request_time.*upstream_response_time.*field/s);
  });

  it('a policy accepts the source with its defaults', () => {
    const policy = Policy.parse({
      id: 'web-nginx',
      target: { type: 'docker', endpoint: 'edge-1', service: 'web' },
      capacity: { min: 1, max: 4 },
      metrics: [{ id: 'latency', source: 'nginx-log', endpoint: 'edge-1', container: 'nginx' }],
      rule: { type: 'steps', metric: 'latency', steps: '0=1 300=4' },
    });
    expect(policy.metrics[0]).toEqual({ id: 'latency', source: 'nginx-log', endpoint: 'edge-1', container: 'nginx', field: 'request_time', statistic: 'mean', maxLines: 10_000 });
  });
});

describeWithServices('nginx-log metric source (real nginx in a container on the test Docker engine, upstream with known delays)', ['DOCKER_HOST', 'TEST_NETWORK', 'NGINX_IMAGE'], () => {
  const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
  const docker = new Docker({ socketPath: socket });
  const containerName = `autoscaler-test-nginx-log-${process.pid}`;
  let upstream: HttpMember;
  let nginxUrl: string;
  let ctx: PluginContext;
  const request = (key: string, input: Record<string, unknown> = {}) =>
    ({ key, metric: NginxLogMetric.parse({ id: 'latency', source: 'nginx-log', endpoint: 'local', container: containerName, ...input }) }) as MetricRequest<any>;

  /** Every access-log line the container wrote so far (read by the test itself, not by the source). */
  const accessLines = async () => {
    const body = (await docker.getContainer(containerName).logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
    // The container has no TTY: Docker multiplexes the stream in frames (8-byte header, then the text).
    const text: string[] = [];
    for (let offset = 0; offset + 8 <= body.length; offset += 8 + body.readUInt32BE(offset + 4)) text.push(body.subarray(offset + 8, offset + 8 + body.readUInt32BE(offset + 4)).toString());
    return text.join('').split('\n').filter((l) => l !== '');
  };
  /** Sends the requests one after the other and waits until nginx has logged each of them. */
  const send = async (paths: string[]) => {
    const before = (await accessLines()).length;
    for (const path of paths) expect((await fetch(`${nginxUrl}${path}`)).status).toBe(200);
    await waitFor(async () => (await accessLines()).length >= before + paths.length, 10_000, `${paths.length} access-log lines`);
    return (await accessLines()).slice(before);
  };
  const loggedSeconds = (lines: string[], key: string) => lines.map((l) => Number(new RegExp(`"?${key}"?[=:]"?([\\d.]+)`).exec(l)![1]));

  beforeAll(async () => {
    const network = await docker.getNetwork(process.env.TEST_NETWORK!).inspect();
    const gateway = network.IPAM?.Config?.[0]?.Gateway;
    if (!gateway) throw new Error(`network ${process.env.TEST_NETWORK} has no gateway`);
    // The upstream runs in this process on the bridge's host side; `?delay=ms` holds the response.
    upstream = await startMember('upstream', 0, gateway);
    const conf = [
      'user nobody nogroup;',
      'worker_processes 1;',
      'error_log stderr warn;',
      'events { worker_connections 64; }',
      'http {',
      // The documented formats (README, access-log.ts), plus a location that logs nginx's default format.
      `  log_format autoscaler 'request_time=$request_time upstream_response_time="$upstream_response_time" status=$status';`,
      `  log_format autoscaler_json escape=json '{"request_time":"$request_time","upstream_response_time":"$upstream_response_time"}';`,
      '  access_log /dev/stdout autoscaler;',
      '  server {',
      '    listen 80;',
      `    location /slow { proxy_pass http://${gateway}:${upstream.port}; }`,
      `    location /json { access_log /dev/stdout autoscaler_json; proxy_pass http://${gateway}:${upstream.port}; }`,
      '    location /static { return 200 static; }',
      '    location /combined { access_log /dev/stdout combined; return 200 combined; }',
      '  }',
      '}',
    ].join('\n');
    const container = await docker.createContainer({
      name: containerName,
      Image: process.env.NGINX_IMAGE,
      Env: [`NGINX_CONF=${conf}`],
      Cmd: ['/bin/sh', '-c', 'echo "$NGINX_CONF" > /etc/nginx/nginx.conf && exec nginx -g "daemon off;"'],
      HostConfig: { NetworkMode: process.env.TEST_NETWORK },
    });
    await container.start();
    const info = await container.inspect();
    nginxUrl = `http://${info.NetworkSettings.Networks[process.env.TEST_NETWORK!]!.IPAddress}`;
    await waitFor(async () => (await fetch(`${nginxUrl}/static`).then((r) => r.status, () => 0)) === 200, 15_000, 'nginx in the container to answer');
  });
  afterAll(async () => {
    await docker.getContainer(containerName).remove({ force: true }).catch(() => undefined);
    await upstream?.close();
  });
  beforeEach(() => {
    ctx = { endpoints: Endpoints.parse({ ...noEndpoints, docker: { local: { socket } } }), signal: AbortSignal.timeout(20_000), state: memoryPluginStateStore() };
  });

  it('the first read only records the baseline (missing, never zero); the next gives mean and quantiles of the requests since, in ms', async () => {
    // Prepare: a log that already has lines before the first read, which must not count.
    await send(['/slow?delay=700']);
    const requests = () => [
      request('web/mean'),
      request('web/upstream-mean', { field: 'upstream_response_time' }),
      request('web/p50', { statistic: 'p50' }),
      request('web/p95', { statistic: 'p95', field: 'upstream_response_time' }),
    ];
    const first = await nginxLogSource.fetch(requests(), ctx);
    const delays = [100, 200, 300, 400];
    const logged = await send([...delays.map((d) => `/slow?delay=${d}`), '/static']);

    // Act
    const second = await nginxLogSource.fetch(requests(), ctx);

    // Assert
    expect([...first.values()]).toEqual([undefined, undefined, undefined, undefined]);
    const requestTimes = loggedSeconds(logged, 'request_time').map((s) => s * 1000);
    const upstreamTimes = loggedSeconds(logged.slice(0, 4), 'upstream_response_time').map((s) => s * 1000);
    upstreamTimes.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual(delays[i]!));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect((second.get('web/mean') as { value: number }).value).toBeCloseTo(mean(requestTimes), 6);
    expect((second.get('web/upstream-mean') as { value: number }).value).toBeCloseTo(mean(upstreamTimes), 6);
    // Five requests (the /static one took ~0 ms): the nearest-rank median is the third smallest, the 200 ms one.
    expect((second.get('web/p50') as { value: number }).value).toBeCloseTo([...requestTimes].sort((a, b) => a - b)[2]!, 6);
    expect((second.get('web/p95') as { value: number }).value).toBeCloseTo(Math.max(...upstreamTimes), 6);
    expect((second.get('web/p95') as { value: number }).value).toBeGreaterThanOrEqual(400);
  });

  it('an interval without requests is missing; the next interval counts only its own requests (JSON format too)', async () => {
    // Prepare
    await nginxLogSource.fetch([request('web/mean')], ctx);
    await send(['/slow?delay=50']);
    await nginxLogSource.fetch([request('web/mean')], ctx);

    // Act
    const idle = await nginxLogSource.fetch([request('web/mean')], ctx);
    const logged = await send(['/json?delay=250']);
    // A request without a baseline read together with one that has one (a policy added meanwhile).
    const next = await nginxLogSource.fetch([request('web/mean', { field: 'upstream_response_time' }), request('web/added')], ctx);
    const nextSameKey = await nginxLogSource.fetch([request('web/mean')], ctx);
    const afterAdded = await send(['/slow?delay=120']);
    const added = await nginxLogSource.fetch([request('web/added')], ctx);

    // Assert
    expect(idle.get('web/mean')).toBeUndefined();
    expect(logged[0]).toMatch(/^\{"request_time":"[\d.]+","upstream_response_time":"[\d.]+"\}$/);
    const upstreamMs = loggedSeconds(logged, 'upstream_response_time')[0]! * 1000;
    expect(upstreamMs).toBeGreaterThanOrEqual(250);
    expect((next.get('web/mean') as { value: number }).value).toBeCloseTo(upstreamMs, 6);
    expect(nextSameKey.get('web/mean')).toBeUndefined();
    expect(next.get('web/added')).toBeUndefined();
    expect((added.get('web/added') as { value: number }).value).toBeCloseTo(loggedSeconds(afterAdded, 'request_time')[0]! * 1000, 6);
  });

  it('a line in another format is skipped and counted; an interval of only such lines is an error naming the format', async () => {
    // Prepare
    await nginxLogSource.fetch([request('web/mean')], ctx);
    const mixed = await send(['/combined', '/slow?delay=150']);
    const withGood = await nginxLogSource.fetch([request('web/mean')], ctx);
    await send(['/combined', '/combined']);

    // Act
    const onlyBad = await nginxLogSource.fetch([request('web/mean')], ctx);

    // Assert
    expect(mixed[0]).toMatch(/"GET \/combined HTTP\/1\.1" 200/);
    expect((withGood.get('web/mean') as { value: number }).value).toBeCloseTo(loggedSeconds([mixed[1]!], 'request_time')[0]! * 1000, 6);
    expect(onlyBad.get('web/mean')).toEqual({ error: expect.stringMatching(new RegExp(`nginx container "${containerName}": none of the 2 log lines since the previous read has request_time=.*log_format`)) });
  });

  it('reads at most maxLines lines: the newest of the interval', async () => {
    // Prepare
    await nginxLogSource.fetch([request('web/newest', { maxLines: 2 })], ctx);
    const logged = await send(['/slow?delay=0', '/slow?delay=0', '/slow?delay=0', '/slow?delay=300', '/slow?delay=350']);

    // Act
    const result = await nginxLogSource.fetch([request('web/newest', { maxLines: 2 })], ctx);

    // Assert
    const newestTwo = loggedSeconds(logged.slice(-2), 'request_time').map((s) => s * 1000);
    expect((result.get('web/newest') as { value: number }).value).toBeCloseTo((newestTwo[0]! + newestTwo[1]!) / 2, 6);
    expect((result.get('web/newest') as { value: number }).value).toBeGreaterThanOrEqual(300);
  });

  it('a read larger than the byte bound (4 KiB per line asked for) is cut off and is an error naming the limit', async () => {
    // Prepare: one line in nginx's combined format carrying a 6 KB URI (under nginx's 8 KB header buffer).
    await nginxLogSource.fetch([request('web/bounded', { maxLines: 1 })], ctx);
    const logged = await send([`/combined?pad=${'x'.repeat(6000)}`]);

    // Act
    const result = await nginxLogSource.fetch([request('web/bounded', { maxLines: 1 })], ctx);

    // Assert
    expect(Buffer.byteLength(logged[0]!)).toBeGreaterThan(6000);
    expect(result.get('web/bounded')).toEqual({ error: expect.stringMatching(new RegExp(`the last 1 log lines of container "${containerName}" are more than 4096 bytes .*not the documented access-log format`)) });
  });

  it('a missing container is an error naming it and the Docker endpoint', async () => {
    // Act
    const result = await nginxLogSource.fetch([request('web/mean', { container: 'no-such-nginx' })], ctx);
    // Assert
    expect(result.get('web/mean')).toEqual({ error: expect.stringMatching(/docker endpoint "local" .*logs of container "no-such-nginx".*failed: .*No such container/) });
  });
});
