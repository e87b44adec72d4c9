/**
 * The `prometheus` metric source: one PromQL instant query against any Prometheus-compatible HTTP
 * API — a self-hosted server (optional basic or bearer auth from a secret) or an Amazon Managed
 * Service for Prometheus workspace (SigV4-signed with the function's role) — and the `prometheus`
 * endpoint kind, whose IAM grants aps:QueryMetrics on the configured workspaces only.
 */
import * as z from 'zod/mini';
import { metricId, name, region, secretOrFile } from '../../../policy/fields.ts';
import type { EndpointKind, MetricSourceDescriptor } from '../../descriptor.ts';

export const PrometheusEndpoint = z.union([
  z.strictObject({
    /** The server's base URL, e.g. `http://127.0.0.1:9090` (queries go to `<url>/api/v1/query`). */
    url: z.string().check(z.regex(/^https?:\/\/[^\s@/]+(\/[^\s?#]*)?$/, 'http(s)://host[:port][/path] without credentials (use basic or bearerToken)'), z.maxLength(2048)),
    basic: z.optional(z.strictObject({ username: z.string().check(z.minLength(1), z.maxLength(256)), password: secretOrFile })),
    bearerToken: z.optional(secretOrFile),
  }).check(z.refine((e) => e.basic === undefined || e.bearerToken === undefined, { message: 'set at most one of basic or bearerToken' })),
  z.strictObject({
    /** An Amazon Managed Service for Prometheus workspace; requests are SigV4-signed with the function's role. */
    amp: z.strictObject({
      workspaceId: z.string().check(z.regex(/^ws-[0-9a-f-]{1,64}$/, 'an AMP workspace id such as ws-12345678-abcd-1234-abcd-123456789012')),
      region,
    }),
  }),
]);


/** The workspace's query base URL. */
export function ampBaseUrl(amp: { workspaceId: string; region: string }): string {
  return `https://aps-workspaces.${amp.region}.amazonaws.com/workspaces/${amp.workspaceId}`;
}

export const prometheusEndpointKind = {
  kind: 'prometheus',
  schema: PrometheusEndpoint,
  checkForLambda(endpointName, prometheus, ctx) {
    const path = `prometheus.${endpointName}`;
    if ('amp' in prometheus) return;
    if ((prometheus.basic || prometheus.bearerToken) && prometheus.url.startsWith('http://')) {
      ctx.problem(path, `credentials over plain http ("${prometheus.url}") would cross the network in clear; use https`);
    }
    ctx.secret(`${path}.basic.password`, prometheus.basic?.password);
    ctx.secret(`${path}.bearerToken`, prometheus.bearerToken);
  },
  iam(endpoints, ctx) {
    const workspaces = Object.values(endpoints).flatMap((e) => ('amp' in e ? [e.amp] : []));
    if (workspaces.length === 0) return [];
    const arns = [...new Set(workspaces.map((w) => ctx.arn({ service: 'aps', resource: 'workspace', resourceName: w.workspaceId, separator: '/', region: w.region })))];
    return [{ sid: 'QueryNamedAmpWorkspaces', actions: ['aps:QueryMetrics'], resources: arns }];
  },
} as const satisfies EndpointKind<'prometheus', typeof PrometheusEndpoint>;

export const PrometheusMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('prometheus'),
    /** Name of a Prometheus endpoint. */
    endpoint: z._default(name, 'default'),
    /** A PromQL instant query whose result is one series (or a scalar), e.g. `sum(rate(http_requests_total[2m]))`. */
    query: z.string().check(z.minLength(1), z.maxLength(4096)),
  })
  .register(z.globalRegistry, { description: 'A PromQL instant query (a Prometheus server or an AMP workspace) returning one value.' });

export const prometheusMetricDescriptor = {
  source: 'prometheus',
  schemas: [PrometheusMetric],
  endpointKind: prometheusEndpointKind,
  load: async () => (await import('./source.ts')).prometheusSource,
} as const satisfies MetricSourceDescriptor;
