/**
 * The `scrape` metric source: a load balancer's response time read straight from its Prometheus
 * exposition endpoint (Traefik's /metrics, Envoy's /stats/prometheus), for operators without a
 * Prometheus server. Each evaluation scrapes once per endpoint and computes the mean or a quantile
 * of a histogram over the interval since the previous scrape (kept in the plug-in's state).
 */
import * as z from 'zod/mini';
import { metricId, name } from '../../../policy/fields.ts';
import type { EndpointKind, MetricSourceDescriptor } from '../../descriptor.ts';

export const ScrapeEndpoint = z.strictObject({
  /** The exposition URL, e.g. `http://traefik:8080/metrics` or `http://envoy:9901/stats/prometheus`. */
  url: z.string().check(z.regex(/^https?:\/\/[^\s@/]+(\/[^\s#]*)?$/, 'http(s)://host[:port]/path without credentials'), z.maxLength(2048)),
});

export const scrapeEndpointKind = {
  kind: 'scrape',
  schema: ScrapeEndpoint,
} as const satisfies EndpointKind<'scrape', typeof ScrapeEndpoint>;

export const ScrapeMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('scrape'),
    /** Name of a scrape endpoint. */
    endpoint: name,
    /** The histogram's base name, e.g. `traefik_service_request_duration_seconds` or `envoy_cluster_upstream_rq_time`. */
    histogram: z.string().check(z.regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'a Prometheus metric name'), z.maxLength(256)),
    /** Label values the series must have; the matching series are summed (e.g. every status code of one service). */
    labels: z._default(z.record(z.string().check(z.regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a Prometheus label name')), z.string().check(z.maxLength(1024))), {}),
    /** `mean`, or a quantile such as `p95` (interpolated in the buckets as histogram_quantile does). */
    statistic: z._default(z.string().check(z.regex(/^(mean|p\d{1,2}(\.\d+)?)$/, 'mean or pNN such as p95')), 'mean'),
    /** Multiplies the result, e.g. 1000 to turn Traefik's seconds into milliseconds. */
    scale: z._default(z.number().check(z.positive()), 1),
  })
  .register(z.globalRegistry, { description: 'Mean or quantile of a histogram over the last interval, from a Prometheus exposition endpoint (Traefik, Envoy).' });

export const scrapeMetricDescriptor = {
  source: 'scrape',
  schemas: [ScrapeMetric],
  endpointKind: scrapeEndpointKind,
  load: async () => (await import('./source.ts')).scrapeSource,
} as const satisfies MetricSourceDescriptor;
