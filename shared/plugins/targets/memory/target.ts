/**
 * The `memory` target's implementation: replicas (and `autoscaler.*` labels, for label overrides)
 * in maps of this process, keyed by target key. A service never scaled has 1 replica. Members are
 * `<name>-<n>` at addresses of 198.18.0.0/15 (RFC 2544's benchmarking range: never a real host), so
 * a load balancer behind a memory target is kept in step with addresses nothing answers on.
 */
import { targetKey } from '../../../policy/schema.ts';
import type { MemoryTargetSpec as MemoryTarget } from './descriptor.ts';
import type { Member, PluginContext, ScaleRequest, ScaleResult, ScaleTarget, TargetState } from '../../types.ts';

type Request = ScaleRequest<MemoryTarget>;

/** Member `index` (0-based) of a memory service: a stable name and a documentation-range address. */
export function memoryMember(target: MemoryTarget, index: number, port: number): Member {
  const host = index + 1; // 198.18.0.0 itself is the network address
  return { name: `${target.name}-${index + 1}`, address: `198.18.${Math.floor(host / 256) % 256}.${host % 256}`, port };
}

export class MemoryScaleTarget implements ScaleTarget<MemoryTarget> {
  readonly type = 'memory' as const;
  /** Replicas by target key (absent: 1). */
  readonly replicas = new Map<string, number>();
  /** Labels by target key, read as a container's `autoscaler.*` labels. */
  readonly labels = new Map<string, Record<string, string>>();

  replicasOf(target: MemoryTarget): number {
    return this.replicas.get(targetKey(target)) ?? 1;
  }

  async describe(request: Request, _ctx: PluginContext): Promise<TargetState> {
    const labels = this.labels.get(targetKey(request.target));
    return { replicas: this.replicasOf(request.target), ...(labels ? { labels: { ...labels } } : {}) };
  }

  async members(request: Request, _ctx: PluginContext): Promise<Member[]> {
    return this.#membersFor(request, this.replicasOf(request.target));
  }

  async scale(request: Request, desired: number, ctx: PluginContext): Promise<ScaleResult> {
    if (!Number.isInteger(desired) || desired < 0) throw new Error(`memory scale: desired replicas must be a whole number ≥ 0, got ${desired}`);
    const before = this.replicasOf(request.target);
    const lb = request.loadBalancer;
    let loadBalancer: Readonly<Record<string, unknown>> | undefined;
    // As a real target would: new members take traffic once they exist, leaving ones are drained first.
    if (lb && desired < before) loadBalancer = await lb.drain(this.#membersFor(request, before).slice(desired), ctx);
    this.replicas.set(targetKey(request.target), desired);
    if (lb && desired > before) loadBalancer = await lb.register(this.#membersFor(request, desired).slice(before), ctx);
    return { replicas: desired, details: { from: before, to: desired, ...(loadBalancer ? { loadBalancer } : {}) } };
  }

  async reconcile(request: Request, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    const members = await this.members(request, ctx);
    const loadBalancer = request.loadBalancer ? await request.loadBalancer.reconcile(members, ctx) : undefined;
    return { members: members.map((m) => `${m.name}=${m.address}:${m.port}`), ...(loadBalancer ? { loadBalancer } : {}) };
  }

  #membersFor(request: Request, count: number): Member[] {
    const lb = request.policy.loadBalancer;
    const port = lb && 'port' in lb ? lb.port : 80;
    return Array.from({ length: count }, (_, i) => memoryMember(request.target, i, port));
  }
}

/** The registered instance: one set of replicas per process. */
export const memoryTarget = new MemoryScaleTarget();
