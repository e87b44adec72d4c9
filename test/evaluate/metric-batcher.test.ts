import { describe, expect, it } from 'vitest';
import type { MetricRequest, MetricResult } from '../../shared/plugins/types.ts';
import { MetricBatcher, maxRequestsPerCall } from '../../shared/reconcile/metrics.ts';

const request = (key: string, source = 'cloudwatch'): MetricRequest => ({ key, metric: { id: key, source } as unknown as MetricRequest['metric'] });

function recordingFetch(calls: Array<{ source: string; keys: string[] }>) {
  return async (source: string, requests: readonly MetricRequest[]) => {
    calls.push({ source, keys: requests.map((r) => r.key) });
    return new Map<string, MetricResult>(requests.map((r) => [r.key, { value: 1, timestamp: 0 }]));
  };
}

describe('MetricBatcher: batches what is ready, never waits for a slow target', () => {
  it('targets that ask together share one call per source, in chunks of at most 500', async () => {
    // Prepare
    const calls: Array<{ source: string; keys: string[] }> = [];
    const batcher = new MetricBatcher(recordingFetch(calls), { fetchTimeoutMs: 5_000, lingerMs: 60_000 });
    const signal = new AbortController().signal;
    batcher.join();
    batcher.join();
    // Act
    const [a, b] = await Promise.all([
      batcher.fetch(Array.from({ length: 400 }, (_, i) => request(`a/${i}`)), signal),
      batcher.fetch([...Array.from({ length: 200 }, (_, i) => request(`b/${i}`)), request('b/redis', 'redis')], signal),
    ]);
    // Assess
    expect(calls.map((c) => [c.source, c.keys.length])).toEqual([
      ['cloudwatch', maxRequestsPerCall],
      ['cloudwatch', 100],
      ['redis', 1],
    ]);
    expect(a.size).toBe(400);
    expect(b.get('b/redis')).toEqual({ value: 1, timestamp: 0 });
  });

  it('a target still reading holds a batch for at most the linger time, not until it is done', async () => {
    // Prepare: two targets joined; one never asks (its host is black-holed).
    const calls: Array<{ source: string; keys: string[] }> = [];
    const batcher = new MetricBatcher(recordingFetch(calls), { fetchTimeoutMs: 5_000, lingerMs: 20 });
    batcher.join();
    batcher.join();
    // Act
    const fast = await batcher.fetch([request('fast/q')], new AbortController().signal);
    // Assess
    expect(fast.get('fast/q')).toEqual({ value: 1, timestamp: 0 });
    expect(calls).toEqual([{ source: 'cloudwatch', keys: ['fast/q'] }]);
  });

  it('a failing or hanging source answers each request with an error naming it, and only its requests', async () => {
    // Prepare
    const batcher = new MetricBatcher(
      async (source, requests) => {
        if (source === 'redis') return new Promise(() => {});
        return new Map(requests.map((r) => [r.key, { value: 2, timestamp: 0 }]));
      },
      { fetchTimeoutMs: 50 },
    );
    batcher.join();
    // Act
    const results = await batcher.fetch([request('t/cw'), request('t/redis', 'redis')], new AbortController().signal);
    // Assess
    expect(results.get('t/cw')).toEqual({ value: 2, timestamp: 0 });
    expect(results.get('t/redis')).toEqual({ error: 'redis: timed out after 50 ms' });
  });
});

describe('MetricBatcher.prefetch: batched sources asked for up front, while the targets are read', () => {
  it('sends every prefetched request at once in full calls of 500, and targets asking later are answered from them without another call', async () => {
    // Prepare: 700 CloudWatch requests of 7 targets; the targets ask one by one, far apart.
    const calls: Array<{ source: string; keys: string[] }> = [];
    const batcher = new MetricBatcher(recordingFetch(calls), { fetchTimeoutMs: 5_000, lingerMs: 0 });
    const perTarget = Array.from({ length: 7 }, (_, t) => Array.from({ length: 100 }, (_, i) => request(`t${t}/${i}`)));
    // Act
    batcher.prefetch(perTarget.flat());
    const answers = [];
    for (const requests of perTarget) {
      batcher.join();
      answers.push(await batcher.fetch(requests, new AbortController().signal));
    }
    // Assess: two calls (500 + 200), none per target.
    expect(calls.map((c) => c.keys.length)).toEqual([maxRequestsPerCall, 200]);
    expect(answers.map((a) => a.size)).toEqual([100, 100, 100, 100, 100, 100, 100]);
  });

  it('a request whose metric is not the prefetched one (same key) is fetched on its own, not answered with the other metric', async () => {
    // Prepare
    const calls: Array<{ source: string; keys: string[] }> = [];
    const batcher = new MetricBatcher(recordingFetch(calls), { fetchTimeoutMs: 5_000, lingerMs: 0 });
    batcher.prefetch([request('p/m')]);
    const changed: MetricRequest = { key: 'p/m', metric: { id: 'p/m', source: 'cloudwatch', name: 'Other' } as unknown as MetricRequest['metric'] };
    batcher.join();
    // Act
    const result = await batcher.fetch([changed], new AbortController().signal);
    // Assess
    expect(result.get('p/m')).toEqual({ value: 1, timestamp: 0 });
    expect(calls.map((c) => c.keys)).toEqual([['p/m'], ['p/m']]);
  });
});
