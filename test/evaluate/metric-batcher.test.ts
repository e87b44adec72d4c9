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
