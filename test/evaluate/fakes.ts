/**
 * In-memory plug-ins for orchestration tests and the alarm-storm bench: the registered `memory`
 * scale target with fault injection, and a metric source that serves set values (registered as
 * 'redis', since a metric's schema must be a real source's).
 */
import { defaultRegistry, withOverrides, type Registry } from '../../shared/plugins/registry.ts';
import type { MemoryTargetSpec } from '../../shared/plugins/targets/memory/descriptor.ts';
import { MemoryScaleTarget } from '../../shared/plugins/targets/memory/target.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext, ScaleRequest, ScaleResult, TargetState } from '../../shared/plugins/types.ts';
import { targetKey, type PolicyInput } from '../../shared/policy/schema.ts';

/** The registered `memory` target, plus faults to inject and a record of its calls. */
export class MemoryTarget extends MemoryScaleTarget {
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

  override async describe(request: ScaleRequest<MemoryTargetSpec>, ctx: PluginContext): Promise<TargetState> {
    const key = targetKey(request.target);
    this.describeCalls++;
    if (this.failing.has(key)) throw new Error(`cannot reach ${key}`);
    if (this.hanging.has(key)) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return super.describe(request, ctx);
  }

  override async scale(request: ScaleRequest<MemoryTargetSpec>, desired: number, ctx: PluginContext): Promise<ScaleResult> {
    const key = targetKey(request.target);
    this.scaleCalls.push({ target: key, desired });
    await this.gate;
    if (this.failingScale.has(key)) {
      throw Object.assign(new Error(`load balancer refused the new member of ${key}`), { details: { created: ['c-1'], removed: ['c-1'] } });
    }
    return super.scale(request, desired, ctx);
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
  return withOverrides(defaultRegistry, { targets: { memory: async () => target }, metricSources: { redis: async () => metrics } });
}

/** A memory-target policy on service `service` whose replicas follow the Redis list `queue:<service>` in steps of 10. */
export function stepsPolicy(id: string, service: string, extra: Partial<PolicyInput> = {}): PolicyInput {
  return {
    id,
    target: { type: 'memory', name: service },
    capacity: { min: 1, max: 10 },
    metrics: [{ id: 'jobs', source: 'redis', endpoint: 'local', list: `queue:${service}` }],
    rule: { type: 'steps', metric: 'jobs', steps: [[0, 1], [10, 2], [20, 3], [30, 4], [40, 5], [90, 10]] },
    ...extra,
  };
}
