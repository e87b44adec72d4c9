/**
 * Metric batching without a barrier. Targets ask for their metrics as soon as their own read is
 * done; the batcher sends what it has, per source, in chunks of at most 500 requests (CloudWatch's
 * GetMetricData limit), as soon as every target that is still reading has asked or given up — or
 * after `lingerMs`, whichever is first. So a fast fleet still makes one call per source, and a
 * black-holed host holds the others for at most `lingerMs`, never for its own timeout.
 * Each fetch runs under its own time limit; a target that gives up stops waiting (its answer is
 * dropped), while the batch goes on for the others.
 *
 * Sources where one call serves many requests and nothing depends on the target (CloudWatch) are
 * better still `prefetch`ed: every policy's requests are sent at the start, in full calls of 500,
 * while the targets are being read; a target then takes its answers from there. Targets read at
 * different speeds, so waiting for them would cut the calls short (or hold the fast ones).
 */
import type { MetricRequest, MetricResult } from '../plugins/types.ts';
import type { Metric, Policy } from '../policy/schema.ts';
import { TimeoutError, within } from './deadline.ts';

export const maxRequestsPerCall = 500;

/** The key a policy's metric is asked for and answered under (policies on one target share a batch). */
export const requestKey = (policy: Policy, metric: Metric): string => `${policy.id}/${metric.id}`;

/** A policy's metric requests (those `which` selects). */
export function metricRequestsOf(policy: Policy, which: (metric: Metric) => boolean = () => true): MetricRequest[] {
  return policy.metrics.filter(which).map((metric) => ({ key: requestKey(policy, metric), metric }));
}

export type FetchSource = (source: string, requests: readonly MetricRequest[], signal: AbortSignal) => Promise<Map<string, MetricResult>>;

interface Waiting {
  readonly request: MetricRequest;
  readonly resolve: (result: MetricResult) => void;
}

export class MetricBatcher {
  readonly #fetch: FetchSource;
  readonly #lingerMs: number;
  readonly #fetchTimeoutMs: number;
  readonly #queues = new Map<string, Waiting[]>();
  /** Prefetched answers by request key, with the metric they answer (a request for another metric under that key is not served from here). */
  readonly #prefetched = new Map<string, { readonly metric: string; readonly answer: Promise<MetricResult> }>();
  #reading = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(fetch: FetchSource, options: { readonly lingerMs?: number; readonly fetchTimeoutMs: number }) {
    this.#fetch = fetch;
    this.#lingerMs = options.lingerMs ?? 25;
    this.#fetchTimeoutMs = options.fetchTimeoutMs;
  }

  /** A target started reading: a batch waits (at most `lingerMs`) for it to ask. */
  join(): void {
    this.#reading++;
  }

  /** A target will not ask (its read failed). */
  leave(): void {
    this.#reading = Math.max(0, this.#reading - 1);
    this.#maybeFlush();
  }

  /** Sends these requests now, per source in calls of at most 500; `fetch` answers them from here. */
  prefetch(requests: readonly MetricRequest[]): void {
    const bySource = new Map<string, Waiting[]>();
    for (const request of requests) {
      const answer = new Promise<MetricResult>((resolve) => {
        const queue = bySource.get(request.metric.source) ?? [];
        queue.push({ request, resolve });
        bySource.set(request.metric.source, queue);
      });
      this.#prefetched.set(request.key, { metric: JSON.stringify(request.metric), answer });
    }
    for (const [source, queue] of bySource) {
      for (let i = 0; i < queue.length; i += maxRequestsPerCall) void this.#send(source, queue.slice(i, i + maxRequestsPerCall));
    }
  }

  /** One target's metrics, keyed by request key; the target stops waiting when `signal` aborts. */
  async fetch(requests: readonly MetricRequest[], signal: AbortSignal): Promise<Map<string, MetricResult>> {
    const answers = requests.map(
      (request) =>
        this.#prefetchedAnswer(request) ??
        new Promise<[string, MetricResult]>((resolve) => {
          const source = request.metric.source;
          const queue = this.#queues.get(source) ?? [];
          queue.push({ request, resolve: (result) => resolve([request.key, result]) });
          this.#queues.set(source, queue);
        }),
    );
    this.leave();
    const all = Promise.all(answers);
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    return new Map(await Promise.race([all, aborted]));
  }

  #prefetchedAnswer(request: MetricRequest): Promise<[string, MetricResult]> | undefined {
    const prefetched = this.#prefetched.get(request.key);
    if (!prefetched || prefetched.metric !== JSON.stringify(request.metric)) return undefined;
    return prefetched.answer.then((result) => [request.key, result]);
  }

  #maybeFlush(): void {
    if (this.#queues.size === 0) return;
    const full = [...this.#queues.values()].some((q) => q.length >= maxRequestsPerCall);
    if (this.#reading === 0 || full) {
      this.#flush();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => this.#flush(), this.#lingerMs);
      this.#timer.unref?.();
    }
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const queues = [...this.#queues];
    this.#queues.clear();
    for (const [source, queue] of queues) {
      for (let i = 0; i < queue.length; i += maxRequestsPerCall) void this.#send(source, queue.slice(i, i + maxRequestsPerCall));
    }
  }

  async #send(source: string, batch: Waiting[]): Promise<void> {
    try {
      const results = await within(this.#fetchTimeoutMs, new AbortController().signal, (signal) =>
        this.#fetch(
          source,
          batch.map((w) => w.request),
          signal,
        ),
      );
      for (const w of batch) w.resolve(results.get(w.request.key));
    } catch (error) {
      const text = error instanceof TimeoutError ? `${source}: timed out after ${this.#fetchTimeoutMs} ms` : `${source}: ${error instanceof Error ? error.message : String(error)}`;
      for (const w of batch) w.resolve({ error: text });
    }
  }
}
