/**
 * The `nginx-log` metric source: nginx's response time (open-source nginx has no latency counter)
 * computed from the access log of an nginx container on a Docker endpoint, read through the Docker
 * API's logs over the interval since the previous evaluation. The log must carry the time in a
 * known field, either key=value or JSON (access-log.ts documents both formats).
 */
import * as z from 'zod/mini';
import { metricId, name } from '../../../policy/fields.ts';
import type { MetricSourceDescriptor } from '../../descriptor.ts';
import { dockerEndpointKind } from '../../targets/docker/descriptor.ts';

/** Requests read at most per evaluation by default: the newest ones when the interval had more. */
export const defaultMaxLines = 10_000;

export const NginxLogMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('nginx-log'),
    /** Name of the Docker endpoint (`endpoints.docker`) of the host running nginx. */
    endpoint: name,
    /** Name (or id) of the nginx container whose standard output is the access log. */
    container: name,
    /**
     * `request_time`: what the client waited (nginx's $request_time); `upstream_response_time`: what the
     * upstreams took ($upstream_response_time; requests nginx answered itself are left out).
     */
    field: z._default(z.enum(['request_time', 'upstream_response_time']), 'request_time'),
    /** `mean`, or a quantile such as `p95` (nearest rank over the interval's requests). In milliseconds. */
    statistic: z._default(z.string().check(z.regex(/^(mean|p\d{1,2}(\.\d+)?)$/, 'mean or pNN such as p95')), 'mean'),
    /** The most log lines one evaluation reads (the newest, when the interval had more). */
    maxLines: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100_000)), defaultMaxLines),
  })
  .register(z.globalRegistry, { description: "Mean or quantile of nginx's response time (ms) over the last interval, from the access log of its container on a Docker endpoint." });

export const nginxLogMetricDescriptor = {
  source: 'nginx-log',
  schemas: [NginxLogMetric],
  endpointKind: dockerEndpointKind,
  load: async () => (await import('./source.ts')).nginxLogSource,
} as const satisfies MetricSourceDescriptor;
