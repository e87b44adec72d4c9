import { afterEach, expect, it } from 'vitest';
import type { Endpoints } from '../../shared/config/endpoints.ts';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { runCommand, runExpecting, runtimeTarget } from '../../shared/haproxy/runtime.ts';
import { haproxySource, readBackendField } from '../../shared/plugins/metrics/haproxy/source.ts';
import type { MetricRequest, MetricResult, PluginContext } from '../../shared/plugins/types.ts';
import { HaproxyMetric } from '../../shared/policy/schema.ts';
import { startMember, waitFor } from '../loadbalancers/http-members.ts';
import type { HttpMember } from '../loadbalancers/http-members.ts';
import { describeWithServices } from '../support/services.ts';

const request = (key: string, input: Record<string, unknown>): MetricRequest<HaproxyMetric> => ({ key, metric: HaproxyMetric.parse({ id: 'm', source: 'haproxy', ...input }) });
const valueOf = (result: MetricResult) => (result && 'value' in result ? result.value : result);

describeWithServices('haproxy metric source (real HAProxy 2.6 show stat)', ['HAPROXY_RUNTIME', 'HAPROXY_SOCKET', 'HAPROXY_METRICS_FRONTEND', 'HAPROXY_METRICS_BACKEND'], () => {
  const backend = process.env.HAPROXY_METRICS_BACKEND!;
  const endpoints: Endpoints = {
    ...noEndpoints,
    haproxy: { lb: { address: process.env.HAPROXY_RUNTIME! }, unix: { socket: process.env.HAPROXY_SOCKET! }, down: { address: '127.0.0.1:1' } },
  };
  const ctx: PluginContext = { endpoints, signal: new AbortController().signal };
  const runtime = runtimeTarget('lb', endpoints.haproxy.lb!);
  let member: HttpMember | undefined;
  const pending: Promise<unknown>[] = [];

  afterEach(async () => {
    await runCommand(runtime, `set server ${backend}/as-metrics-slow state maint`);
    await runCommand(runtime, `shutdown sessions server ${backend}/as-metrics-slow`);
    await Promise.allSettled(pending.splice(0));
    for (let i = 0; i < 20 && !(await runCommand(runtime, `del server ${backend}/as-metrics-slow`)).match(/deleted|No such/); i++) await new Promise((r) => setTimeout(r, 100));
    await member?.close();
  });

  it('reads scur and qcur of the backend as generated: N slow requests on a maxconn 1 server: scur N (the backend counts queued sessions), qcur N-1', async () => {
    // Prepare
    member = await startMember('metrics-slow', 3_000);
    await runExpecting(runtime, `add server ${backend}/as-metrics-slow ${member.address}:${member.port} maxconn 1`, ['New server registered.']);
    await runExpecting(runtime, `set server ${backend}/as-metrics-slow state ready`, []);
    const n = 4;
    for (let i = 0; i < n; i++) pending.push(fetch(`http://${process.env.HAPROXY_METRICS_FRONTEND}/`).catch(() => undefined));
    const requests = [
      request('p/scur', { endpoint: 'lb', backend, field: 'scur' }),
      request('p/qcur', { endpoint: 'lb', backend, field: 'qcur' }),
      request('p/rate', { endpoint: 'unix', backend, field: 'rate' }),
      request('p/rtime', { endpoint: 'unix', backend, field: 'rtime' }),
    ];

    // Act
    let results = new Map<string, MetricResult>();
    await waitFor(async () => {
      results = await haproxySource.fetch(requests, ctx);
      return valueOf(results.get('p/qcur')) === n - 1;
    }, 3_000, `qcur ${n - 1}`);

    // Assess
    expect(valueOf(results.get('p/scur'))).toBe(n);
    expect(valueOf(results.get('p/qcur'))).toBe(n - 1);
    expect(results.get('p/rate')).toMatchObject({ value: expect.any(Number), timestamp: expect.any(Number) });
    expect(results.get('p/rtime')).toMatchObject({ value: expect.any(Number), timestamp: expect.any(Number) });
  });

  it('a missing backend is an error naming it; an unreachable or unknown endpoint is an error per request naming it', async () => {
    // Act
    const results = await haproxySource.fetch(
      [
        request('p/ok', { endpoint: 'lb', backend, field: 'scur' }),
        request('p/missing', { endpoint: 'lb', backend: 'no-such-backend', field: 'scur' }),
        request('p/down1', { endpoint: 'down', backend, field: 'scur' }),
        request('p/down2', { endpoint: 'down', backend, field: 'qcur' }),
        request('p/unknown', { endpoint: 'nowhere', backend, field: 'scur' }),
      ],
      ctx,
    );

    // Assess
    expect(results.get('p/ok')).toMatchObject({ value: 0 });
    expect(results.get('p/missing')).toEqual({ error: expect.stringMatching(/haproxy endpoint "lb" \(.*\): no backend "no-such-backend" \(have: .*metrics/) });
    expect(results.get('p/down1')).toEqual({ error: expect.stringMatching(/haproxy "down" \(127\.0\.0\.1:1\).*ECONNREFUSED/) });
    expect(results.get('p/down2')).toEqual(results.get('p/down1'));
    expect(results.get('p/unknown')).toEqual({ error: expect.stringContaining('unknown haproxy endpoint "nowhere"') });
  });
});

it('readBackendField: reads the BACKEND row, an empty cell is no datapoint, garbage is an error (no HAProxy needed)', () => {
  // Prepare
  const rows: Record<string, string>[] = [
    { pxname: 'web', svname: 'as-1', scur: '9' },
    { pxname: 'web', svname: 'BACKEND', scur: '3', rtime: '', qcur: 'x' },
  ];
  const metric = (field: string) => HaproxyMetric.parse({ id: 'm', source: 'haproxy', endpoint: 'lb', backend: 'web', field });

  // Act / Assess
  expect(readBackendField(rows, metric('scur'), '"lb"', 5)).toEqual({ value: 3, timestamp: 5 });
  expect(readBackendField(rows, metric('rtime'), '"lb"', 5)).toBeUndefined();
  expect(readBackendField(rows, metric('qcur'), '"lb"', 5)).toEqual({ error: 'haproxy endpoint "lb": backend "web" field qcur is not a number: "x"' });
});
