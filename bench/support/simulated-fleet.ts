/**
 * A simulated fleet for the fan-out bench: policies that pass the real schema, plug-ins and stores
 * with simulated latencies on a VirtualClock, and counters of the calls each backend receives.
 *
 * Latencies (uniform jitter, seeded): CloudWatch GetMetricData ≈ 20 ms per call (15–25; one call per
 * 500 queries, as shared/aws/cloudwatch-batch.ts batches, calls of one fetch in parallel);
 * Docker API ≈ 50–500 ms per call (describe = 1 call, scale = 2); Kubernetes API ≈ 30 ms (20–40);
 * DynamoDB ≈ 5 ms per request (3–8); a black-holed Docker host accepts and never answers (its
 * calls end only when the engine's signal aborts them).
 */
import type { AuditRecord } from '../../shared/audit/record.ts';
import type { BehaviorHistory } from '../../shared/engine/types.ts';
import type { EvaluationStores } from '../../shared/evaluate/evaluate.ts';
import type { StoredPolicy } from '../../shared/evaluate/types.ts';
import { defaultRegistry, withOverrides, type Registry } from '../../shared/plugins/registry.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext, ScaleRequest, ScaleTarget, TargetState } from '../../shared/plugins/types.ts';
import { Policy, targetKey } from '../../shared/policy/schema.ts';
import { emptyHistory } from '../../shared/engine/types.ts';
import { indexEntryOf, type IndexEntry } from '../../shared/state/policies.ts';
import type { Intent, LeaseResult, StoredHistory } from '../../shared/state/state.ts';
import type { VirtualClock } from './virtual-clock.ts';

export interface FleetShape {
  readonly targets: number;
  readonly policiesPerTarget: number;
  /** Docker targets per Docker host. */
  readonly servicesPerHost: number;
  /** Share of Docker hosts that accept TCP and never answer. */
  readonly deadHostShare: number;
  /** Share of targets whose load asks for more replicas this tick. */
  readonly scalingShare: number;
}

export interface Counters {
  cloudwatchCalls: number;
  dynamodbReads: number;
  dynamodbWrites: number;
}

/** Deterministic pseudo-random numbers (a linear congruential generator), so every run sees the same fleet. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface Fleet {
  readonly policies: StoredPolicy[];
  readonly index: IndexEntry[];
  /** Target keys on black-holed hosts (empty when the run has no faults). */
  readonly deadTargets: ReadonlySet<string>;
  /** Target keys that would be on black-holed hosts in the faulty run (the same in both runs). */
  readonly faultyTargets: ReadonlySet<string>;
  readonly loads: ReadonlyMap<string, number>;
}

export function buildFleet(shape: FleetShape, withFaults: boolean): Fleet {
  const random = seeded(7);
  const dockerTargets = Math.floor(shape.targets / 2);
  const hosts = Math.ceil(dockerTargets / shape.servicesPerHost);
  const deadHosts = new Set<number>();
  const deadCount = Math.max(1, Math.round(hosts * shape.deadHostShare));
  while (deadHosts.size < deadCount) deadHosts.add(Math.floor(random() * hosts));
  const policies: StoredPolicy[] = [];
  const faultyTargets = new Set<string>();
  const loads = new Map<string, number>();
  for (let t = 0; t < shape.targets; t++) {
    const docker = t % 2 === 0;
    const ordinal = Math.floor(t / 2);
    const host = ordinal % hosts;
    const target = docker
      ? { type: 'docker' as const, endpoint: `host-${host}`, service: `svc-${t}` }
      : { type: 'kubernetes' as const, cluster: `prod-${t % 4}`, namespace: 'apps', kind: 'Deployment' as const, name: `svc-${t}` };
    const key = docker ? `docker/host-${host}/svc-${t}` : `kubernetes/prod-${t % 4}/apps/Deployment/svc-${t}`;
    if (docker && deadHosts.has(host)) faultyTargets.add(key);
    // Current replicas are 2 everywhere; a scaling target's load asks for 4.
    const scaling = random() < shape.scalingShare;
    for (let p = 0; p < shape.policiesPerTarget; p++) {
      const id = `p-${String(t).padStart(5, '0')}-${p}`;
      loads.set(`${id}/load`, scaling && p === 0 ? 390 : 190 + Math.floor(random() * 20));
      const policy = Policy.parse({
        id,
        target,
        capacity: { min: 1, max: 20 },
        metrics: [{ id: 'load', source: 'cloudwatch', namespace: 'App', name: `Load${p}`, dimensions: { Service: `svc-${t}` }, stat: 'Average', period: 60 }],
        rule: { type: 'target', metric: 'load', perReplica: 100 },
      });
      policies.push({ policy, version: 1 });
    }
  }
  return {
    policies,
    index: policies.map((p) => indexEntryOf(p.policy, p.version)),
    deadTargets: withFaults ? faultyTargets : new Set(),
    faultyTargets,
    loads,
  };
}

/** Everything a run shares: the clock, the counters, the latencies. */
export class SimulatedWorld {
  readonly counters: Counters = { cloudwatchCalls: 0, dynamodbReads: 0, dynamodbWrites: 0 };
  /** Virtual time of each target's last audit record. */
  readonly auditedAt = new Map<string, number>();
  readonly records: AuditRecord[] = [];
  readonly #random = seeded(11);
  readonly clock: VirtualClock;
  readonly fleet: Fleet;
  readonly #replicas = new Map<string, number>();
  readonly #histories = new Map<string, StoredHistory>();
  readonly #leases = new Map<string, { owner: string; leaseUntil: number; intent?: Intent }>();
  readonly #markers = new Set<string>();
  readonly #byId: Map<string, StoredPolicy>;

  constructor(clock: VirtualClock, fleet: Fleet) {
    this.clock = clock;
    this.fleet = fleet;
    this.#byId = new Map(fleet.policies.map((p) => [p.policy.id, p]));
  }

  latency(min: number, max: number): Promise<void> {
    return this.clock.sleep(min + this.#random() * (max - min));
  }

  /** A call to a host that never answers: it ends when the engine gives up on it. */
  #blackHole(signal: AbortSignal): Promise<never> {
    return new Promise((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')), { once: true });
    });
  }

  registry(): Registry {
    const world = this;
    const docker: ScaleTarget = {
      type: 'docker',
      async describe(request: ScaleRequest, ctx: PluginContext): Promise<TargetState> {
        const key = targetKey(request.target);
        if (world.fleet.deadTargets.has(key)) return world.#blackHole(ctx.signal);
        await world.latency(50, 500);
        return { replicas: world.#replicas.get(key) ?? 2 };
      },
      async scale(request: ScaleRequest, desired: number, ctx: PluginContext) {
        const key = targetKey(request.target);
        if (world.fleet.deadTargets.has(key)) return world.#blackHole(ctx.signal);
        await world.latency(50, 500);
        await world.latency(50, 500);
        world.#replicas.set(key, desired);
        return { replicas: desired, details: {} };
      },
    };
    const kubernetes: ScaleTarget = {
      type: 'kubernetes',
      async describe(request: ScaleRequest): Promise<TargetState> {
        await world.latency(20, 40);
        return { replicas: world.#replicas.get(targetKey(request.target)) ?? 2 };
      },
      async scale(request: ScaleRequest, desired: number) {
        await world.latency(20, 40);
        world.#replicas.set(targetKey(request.target), desired);
        return { replicas: desired, details: {} };
      },
    };
    const cloudwatch: MetricSource = {
      source: 'cloudwatch',
      async fetch(requests: ReadonlyArray<MetricRequest>): Promise<Map<string, MetricResult>> {
        const calls = Math.ceil(requests.length / 500);
        world.counters.cloudwatchCalls += calls;
        await Promise.all(Array.from({ length: calls }, () => world.latency(15, 25)));
        const at = world.clock.now();
        return new Map(requests.map((r) => [r.key, { value: world.fleet.loads.get(r.key) ?? 200, timestamp: at - 30_000 }]));
      },
    };
    return withOverrides(defaultRegistry, { targets: { docker: async () => docker, kubernetes: async () => kubernetes }, metricSources: { cloudwatch: async () => cloudwatch } });
  }

  async #read(): Promise<void> {
    this.counters.dynamodbReads++;
    await this.latency(3, 8);
  }

  async #write(): Promise<void> {
    this.counters.dynamodbWrites++;
    await this.latency(3, 8);
  }

  /** The compact index: one Query page per 1 MB of ~150-byte items. */
  async listIndex(): Promise<IndexEntry[]> {
    const pages = Math.max(1, Math.ceil((this.fleet.index.length * 150) / 1_000_000));
    for (let i = 0; i < pages; i++) await this.#read();
    return [...this.fleet.index];
  }

  /** Every full policy item (today's single Lambda): one Query page per 1 MB of ~1.5 KB items. */
  async listPolicies(): Promise<StoredPolicy[]> {
    const pages = Math.max(1, Math.ceil((this.fleet.policies.length * 1_500) / 1_000_000));
    for (let i = 0; i < pages; i++) await this.#read();
    return [...this.fleet.policies];
  }

  /** BatchGetItem, 100 keys per request. */
  async getMany(ids: readonly string[]): Promise<StoredPolicy[]> {
    for (let i = 0; i < ids.length; i += 100) await this.#read();
    return ids.map((id) => this.#byId.get(id)).filter((p): p is StoredPolicy => p !== undefined);
  }

  /** The state and audit stores with the methods the engine calls, semantics as shared/state. */
  stores(): EvaluationStores {
    const world = this;
    const state = {
      async readHistory(policyId: string): Promise<StoredHistory> {
        await world.#read();
        return world.#histories.get(policyId) ?? { history: emptyHistory, version: 0 };
      },
      async saveHistory(policyId: string, history: BehaviorHistory, _now: number, expectedVersion?: number): Promise<boolean> {
        await world.#write();
        const current = world.#histories.get(policyId)?.version ?? 0;
        if (expectedVersion !== undefined && expectedVersion !== current) return false;
        world.#histories.set(policyId, { history, version: current + 1 });
        return true;
      },
      async readLease(target: string) {
        await world.#read();
        return world.#leases.get(target);
      },
      async acquireLease(target: string, owner: string, durationMs: number, now: number): Promise<LeaseResult> {
        await world.#write();
        const held = world.#leases.get(target);
        if (held && held.leaseUntil >= now) return { acquired: false, holder: held.owner, until: held.leaseUntil };
        world.#leases.set(target, { owner, leaseUntil: now + durationMs, ...(held?.intent ? { intent: held.intent } : {}) });
        return held?.intent ? { acquired: true, staleIntent: held.intent } : { acquired: true };
      },
      async writeIntent(target: string, owner: string, intent: Intent): Promise<void> {
        await world.#write();
        const held = world.#leases.get(target);
        if (held?.owner === owner) held.intent = intent;
      },
      async clearIntent(target: string, owner: string): Promise<void> {
        await world.#write();
        const held = world.#leases.get(target);
        if (held?.owner === owner) delete held.intent;
      },
      async releaseLease(target: string, owner: string): Promise<void> {
        await world.#write();
        const held = world.#leases.get(target);
        if (held?.owner === owner) world.#leases.set(target, { owner, leaseUntil: 0 });
      },
      async markTrigger(triggerId: string, target: string): Promise<boolean> {
        await world.#write();
        const key = `${triggerId}|${target}`;
        if (world.#markers.has(key)) return false;
        world.#markers.add(key);
        return true;
      },
    };
    const audit = {
      async put(record: AuditRecord): Promise<boolean> {
        await world.#write();
        world.records.push(record);
        world.auditedAt.set(record.target, world.clock.now());
        return true;
      },
    };
    return { state: state as unknown as EvaluationStores['state'], audit: audit as unknown as EvaluationStores['audit'] };
  }
}
