/** The `haproxy` metric source (a backend statistic from the runtime API) and the `haproxy` endpoint kind. */
import * as z from 'zod/mini';
import { metricId, name } from '../../../policy/fields.ts';
import type { EndpointKind, MetricSourceDescriptor } from '../../descriptor.ts';

export const HaproxyEndpoint = z.union([
  z.strictObject({ socket: z.string().check(z.regex(/^\//, 'an absolute path to a unix socket')) }),
  z.strictObject({ address: z.string().check(z.regex(/^[^:\s]+:\d+$/, 'host:port')) }),
]);

export const haproxyEndpointKind = {
  kind: 'haproxy',
  schema: HaproxyEndpoint,
  checkForLambda(endpointName, haproxy, ctx) {
    if ('socket' in haproxy) ctx.problem(`haproxy.${endpointName}`, `a unix socket ("${haproxy.socket}") is not reachable from Lambda; use { address: "host:port" }`);
  },
} as const satisfies EndpointKind<'haproxy', typeof HaproxyEndpoint>;

export const HaproxyMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('haproxy'),
    /** Name of an HAProxy runtime API endpoint. */
    endpoint: name,
    backend: z.string().check(z.minLength(1), z.maxLength(255)),
    /** scur: current sessions, qcur: queued requests, rate: sessions per second, rtime: average response time (ms). */
    field: z.enum(['scur', 'qcur', 'rate', 'rtime']),
  })
  .register(z.globalRegistry, { description: 'A backend statistic from the HAProxy runtime API (show stat).' });

export const haproxyMetricDescriptor = {
  source: 'haproxy',
  schemas: [HaproxyMetric],
  endpointKind: haproxyEndpointKind,
  load: async () => (await import('./source.ts')).haproxySource,
} as const satisfies MetricSourceDescriptor;
