/**
 * Scrapes each endpoint once per evaluation, then reads every request's histogram from that one
 * answer. The previous snapshot of each request lives in the plug-in state (namespace `scrape`,
 * key: the request key and what it selects), so each evaluation measures the interval since the
 * last one. The first scrape, and the first after a state loss (a cold start), only records the
 * baseline: missing, which holds, never zero.
 */
import type * as z from 'zod/mini';
import { endpointNamed } from '../../../config/endpoints.ts';
import { stateOf } from '../../state.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import type { ScrapeMetric } from './descriptor.ts';
import { parseExposition } from './exposition.ts';
import { histogramSnapshot, overInterval, type HistogramSnapshot, type Statistic } from './histogram.ts';

type Metric = z.output<typeof ScrapeMetric>;

/** An exposition larger than this is refused (Envoy's with every stat is a few MB at most). */
export const maxExpositionBytes = 16_000_000;

function statisticOf(metric: Metric): Statistic {
  return metric.statistic === 'mean' ? 'mean' : { quantile: Number(metric.statistic.slice(1)) / 100 };
}

export const scrapeSource: MetricSource<Metric> = {
  source: 'scrape',
  async fetch(requests: ReadonlyArray<MetricRequest<Metric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    const results = new Map<string, MetricResult>();
    const state = stateOf(ctx, 'scrape');
    const byEndpoint = new Map<string, MetricRequest<Metric>[]>();
    for (const request of requests) byEndpoint.set(request.metric.endpoint, [...(byEndpoint.get(request.metric.endpoint) ?? []), request]);
    await Promise.all(
      [...byEndpoint].map(async ([endpointName, batch]) => {
        const label = `scrape endpoint "${endpointName}"`;
        let samples;
        try {
          const { url } = endpointNamed(ctx.endpoints, 'scrape', endpointName);
          const response = await fetch(url, { headers: { accept: 'text/plain;version=0.0.4' }, signal: ctx.signal });
          if (!response.ok) throw new Error(`${label}: HTTP ${response.status} ${response.statusText}`.trim());
          const text = await response.text();
          if (text.length > maxExpositionBytes) throw new Error(`${label}: ${text.length} bytes, more than ${maxExpositionBytes}`);
          samples = parseExposition(text);
        } catch (err) {
          const message = (err as Error).message;
          for (const request of batch) results.set(request.key, { error: message.startsWith(label) || message.startsWith('unknown') ? message : `${label}: ${message}` });
          return;
        }
        const now = Date.now();
        for (const request of batch) {
          const { histogram, labels } = request.metric;
          const current = histogramSnapshot(samples, histogram, labels);
          if (!current) {
            results.set(request.key, { error: `${label}: no histogram ${histogram} with labels ${JSON.stringify(labels)}` });
            continue;
          }
          const stateKey = `${request.key} ${histogram} ${JSON.stringify(labels)}`;
          const previous = (await state.get(stateKey)) as HistogramSnapshot | undefined;
          await state.set(stateKey, current);
          const value = previous ? overInterval(previous, current, statisticOf(request.metric)) : undefined;
          results.set(request.key, value === undefined ? undefined : { value: value * request.metric.scale, timestamp: now });
        }
      }),
    );
    return results;
  },
};
