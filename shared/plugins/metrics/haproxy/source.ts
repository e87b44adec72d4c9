/**
 * HAProxy backend statistics from the runtime API: one `show stat` per endpoint per batch,
 * read from the backend's aggregate row (svname BACKEND).
 */
import type { HaproxyEndpoint } from '../../../config/endpoints.ts';
import { endpointNamed } from '../../../config/endpoints.ts';
import type { StatRow } from '../../../haproxy/runtime.ts';
import { runtimeTarget, showStat } from '../../../haproxy/runtime.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import type { HaproxyMetric } from '../../../policy/schema.ts';

/** Picks one request's value out of a `show stat` answer (pure: tested without HAProxy). */
export function readBackendField(rows: readonly StatRow[], metric: HaproxyMetric, endpointLabel: string, now: number): MetricResult {
  const row = rows.find((r) => r.pxname === metric.backend && r.svname === 'BACKEND');
  if (!row) {
    const backends = rows.filter((r) => r.svname === 'BACKEND').map((r) => r.pxname);
    return { error: `haproxy endpoint ${endpointLabel}: no backend "${metric.backend}" (have: ${backends.join(', ') || 'none'})` };
  }
  const cell = row[metric.field];
  // An empty cell is "no datapoint", which the engine must not read as zero.
  if (cell === undefined || cell === '') return undefined;
  const value = Number(cell);
  if (!Number.isFinite(value)) return { error: `haproxy endpoint ${endpointLabel}: backend "${metric.backend}" field ${metric.field} is not a number: "${cell}"` };
  return { value, timestamp: now };
}

export const haproxySource: MetricSource<HaproxyMetric> = {
  source: 'haproxy',
  async fetch(requests: ReadonlyArray<MetricRequest<HaproxyMetric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    const results = new Map<string, MetricResult>();
    const byEndpoint = new Map<string, MetricRequest<HaproxyMetric>[]>();
    for (const request of requests) {
      const list = byEndpoint.get(request.metric.endpoint) ?? [];
      list.push(request);
      byEndpoint.set(request.metric.endpoint, list);
    }
    await Promise.all(
      [...byEndpoint].map(async ([name, batch]) => {
        let label = `"${name}"`;
        try {
          const target = runtimeTarget(name, endpointNamed(ctx.endpoints, 'haproxy', name) as HaproxyEndpoint);
          label = target.label;
          const rows = await showStat(target, ctx.signal);
          const now = Date.now();
          for (const request of batch) results.set(request.key, readBackendField(rows, request.metric, label, now));
        } catch (err) {
          const message = (err as Error).message;
          for (const request of batch) results.set(request.key, { error: message.includes(name) ? message : `haproxy endpoint ${label}: ${message}` });
        }
      }),
    );
    return results;
  },
};
