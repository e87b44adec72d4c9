/**
 * Response time over the last interval from two scrapes of a cumulative histogram (pure): the mean
 * is Δsum / Δcount, a quantile is interpolated in the Δbuckets as PromQL's histogram_quantile does.
 * No request in the interval, or a counter reset (the proxy restarted), is no reading: missing.
 */
import type { Sample } from './exposition.ts';

/** One histogram's cumulative counters, summed over the series the labels select. */
export interface HistogramSnapshot {
  readonly sum: number;
  readonly count: number;
  /** Cumulative bucket counts by upper bound (`le`), +Inf included. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
}

/** Sums the `<name>_sum`, `_count` and `_bucket` series whose labels include `selector`; undefined when none match. */
export function histogramSnapshot(samples: readonly Sample[], name: string, selector: Readonly<Record<string, string>>): HistogramSnapshot | undefined {
  const matches = (labels: Readonly<Record<string, string>>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  let sum = 0;
  let count = 0;
  let found = false;
  const buckets = new Map<number, number>();
  for (const sample of samples) {
    if (!sample.name.startsWith(name) || !matches(sample.labels)) continue;
    const suffix = sample.name.slice(name.length);
    if (suffix === '_sum') {
      sum += sample.value;
      found = true;
    } else if (suffix === '_count') {
      count += sample.value;
    } else if (suffix === '_bucket' && sample.labels.le !== undefined) {
      const le = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
    }
  }
  if (!found) return undefined;
  return { sum, count, buckets: [...buckets].sort((a, b) => a[0] - b[0]) };
}

export type Statistic = 'mean' | { readonly quantile: number };

/** The statistic over the interval between two snapshots; undefined when there is none to give. */
export function overInterval(previous: HistogramSnapshot, current: HistogramSnapshot, statistic: Statistic): number | undefined {
  const count = current.count - previous.count;
  if (!(count > 0)) return undefined;
  if (statistic === 'mean') return (current.sum - previous.sum) / count;
  const before = new Map(previous.buckets);
  const deltas = current.buckets.map(([le, c]) => [le, c - (before.get(le) ?? 0)] as const);
  const total = deltas.at(-1)?.[1] ?? 0;
  if (!(total > 0) || deltas.some(([, c]) => c < 0)) return undefined;
  const rank = statistic.quantile * total;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of deltas) {
    if (cumulative >= rank) {
      // As histogram_quantile: in the +Inf bucket, the highest finite bound is the answer.
      if (le === Number.POSITIVE_INFINITY) return lower;
      if (cumulative === below) return le;
      return lower + (le - lower) * ((rank - below) / (cumulative - below));
    }
    lower = le;
    below = cumulative;
  }
  return undefined;
}
