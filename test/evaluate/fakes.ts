/**
 * In-memory plug-ins for orchestration tests and the alarm-storm bench: a scale target that keeps
 * replicas in a map (registered as 'docker', since the policy schema only knows real target types)
 * and a metric source that serves set values (registered as 'redis').
 */
import { defaultRegistry, withOverrides, type Registry } from '../../shared/plugins/registry.ts';
import type { MetricRequest, MetricResult, MetricSource, ScaleRequest, ScaleTarget, TargetState } from '../../shared/plugins/types.ts';
import { targetKey, type PolicyInput } from '../../shared/policy/schema.ts';

export class MemoryTarget implements ScaleTarget {
  readonly type = 'docker' as const;
  readonly replicas = new Map<string, number>();
  readonly labels = new Map<string, Record<string, string>>();
  readonly scaleCalls: Array<{ target: string; desired: number }> = [];
  describeCalls = 0;
  /** Makes describe fail for these targets. */
  readonly failing = new Set<string>();
  /** Makes describe/scale hang (until aborted) for these targets. */
  readonly hanging = new Set<string>();
  /** Makes scale fail part-way for these targets, with details of what it had done. */
  readonly failingScale = new Set<string>();
  /** Awaited inside scale, before replicas change. */
  gate: Promise<void> = Promise.resolve();

  async describe(request: ScaleRequest, ctx: { signal: AbortSignal }): Promise<TargetState> {
    const key = targetKey(request.target);
    this.describeCalls++;
    if (this.failing.has(key)) throw new Error(`cannot reach ${key}`);
    if (this.hanging.has(key)) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const labels = this.labels.get(key);
    return { replicas: this.replicas.get(key) ?? 1, ...(labels ? { labels } : {}) };
  }

  async scale(request: ScaleRequest, desired: number): Promise<{ replicas: number; details: Record<string, unknown> }> {
    const key = targetKey(request.target);
    this.scaleCalls.push({ target: key, desired });
    await this.gate;
    if (this.failingScale.has(key)) {
      throw Object.assign(new Error(`load balancer refused the new member of ${key}`), { details: { created: ['c-1'], removed: ['c-1'] } });
    }
    const before = this.replicas.get(key) ?? 1;
    this.replicas.set(key, desired);
    return { replicas: desired, details: { from: before, to: desired } };
  }
}

export class MemoryMetrics implements MetricSource {
  readonly source = 'redis' as const;
  readonly values = new Map<string, number>();
  fetchCalls: Array<number> = [];

  async fetch(requests: ReadonlyArray<MetricRequest>): Promise<Map<string, MetricResult>> {
    this.fetchCalls.push(requests.length);
    const results = new Map<string, MetricResult>();
    for (const request of requests) {
      const list = 'list' in request.metric ? request.metric.list : undefined;
      const value = list === undefined ? undefined : this.values.get(list);
      results.set(request.key, value === undefined ? undefined : { value, timestamp: Date.now() });
    }
    return results;
  }
}

export function memoryRegistry(target: MemoryTarget, metrics: MemoryMetrics): Registry {
  return withOverrides(defaultRegistry, { targets: { docker: async () => target }, metricSources: { redis: async () => metrics } });
}

/** A docker policy on service `service` whose replicas follow the Redis list `queue:<service>` in steps of 10. */
export function stepsPolicy(id: string, service: string, extra: Partial<PolicyInput> = {}): PolicyInput {
  return {
    id,
    target: { type: 'docker', endpoint: 'local', service },
    capacity: { min: 1, max: 10 },
    metrics: [{ id: 'jobs', source: 'redis', endpoint: 'local', list: `queue:${service}` }],
    rule: { type: 'steps', metric: 'jobs', steps: [[0, 1], [10, 2], [20, 3], [30, 4], [40, 5], [90, 10]] },
    ...extra,
  };
}
