/**
 * One target, one linear story (after the Kubernetes HPA's `reconcileAutoscaler`):
 *
 *   1. read the target (bounded: a black-holed host fails only its own targets)
 *   2. apply its Docker labels, ask for its metrics (batched with whoever is ready, never waiting for a slow target)
 *   3. decide every policy (pure engine) and arbitrate which one acts (pure engine)
 *   4. nothing to do → audit and stop
 *   5. take the lease (shared/state/lease.ts); held by another → LeaseHeld
 *   6. under the lease: store a dead holder's record, availability upkeep, read the target and the
 *      behavior history again and decide again (so a cooldown another actor just started holds)
 *   7. act: claim the trigger, store the full record as the intent, scale, save the history with a
 *      version check, complete the record (kept in the intent if the audit put fails)
 *   8. audit the other policies, release the lease
 *
 * Everything runs under the target's deadline (shared/reconcile/deadline.ts); every plug-in call
 * gets its signal. A failure or timeout gives each policy not yet audited a Failed record that says
 * what was attempted.
 */
import { randomUUID } from 'node:crypto';
import { buildRecord } from '../audit/build.ts';
import type { AuditRecord, Trigger } from '../audit/record.ts';
import { arbitrate, type Verdict } from '../engine/arbitrate.ts';
import { decide } from '../engine/decide.ts';
import { historyRetentionSeconds } from '../engine/envelope.ts';
import type { BehaviorHistory, Decision, MetricReading } from '../engine/types.ts';
import { applyLabelOverrides } from '../policy/labels.ts';
import type { Policy } from '../policy/schema.ts';
import { targetDescriptorOf } from '../plugins/catalog.ts';
import { load } from '../plugins/registry.ts';
import { targetAccess, type LoadBalancerFactory, type LoadBalancerPlugin, type MetricRequest, type MetricResult, type PluginContext, type ScaleRequest, type ScaleTarget, type TargetState } from '../plugins/types.ts';
import type { AuditStore } from '../state/audit.ts';
import { TargetLease } from '../state/lease.ts';
import type { StateStore, StoredHistory } from '../state/state.ts';
import type { EvaluationOptions, EvaluationTrigger, StoredPolicy } from '../evaluate/types.ts';
import { limitsFor, TimeoutError, within, type TargetLimits } from './deadline.ts';
import { metricRequestsOf, requestKey, type MetricBatcher } from './metrics.ts';

const defaultAlarmLeaseWaitMs = 20_000;

export interface TargetJob {
  readonly key: string;
  /** Enabled policies on this target, by id. */
  readonly policies: readonly StoredPolicy[];
}

export interface ReconcileDeps {
  readonly state: StateStore;
  readonly audit: AuditStore;
  readonly options: EvaluationOptions;
  readonly trigger: EvaluationTrigger;
  readonly batcher: MetricBatcher;
  readonly now: () => number;
  readonly log: (message: string) => void;
}

/** A policy as this evaluation sees it: labels applied, with what that did. */
interface Prepared {
  readonly stored: StoredPolicy;
  readonly policy: Policy;
  readonly labelDetails?: Record<string, unknown>;
}

interface Evaluated {
  readonly prepared: Prepared;
  readonly decision: Decision;
  readonly history: StoredHistory;
  readonly inputs: AuditRecord['inputs'];
  readonly metricErrors: Record<string, string>;
}

type Outcome = Pick<AuditRecord, 'status' | 'action'> & Partial<Pick<AuditRecord, 'notScaledReason' | 'details' | 'error' | 'activityId'>>;

/** Reconciles one target; returns the audit records it stored. Never throws for I/O failures. */
export async function reconcileTarget(job: TargetJob, deps: ReconcileDeps): Promise<AuditRecord[]> {
  const run = new TargetRun(job, deps);
  return run.reconcile();
}

class TargetRun {
  readonly #job: TargetJob;
  readonly #deps: TargetDeps;
  readonly #limits: TargetLimits;
  readonly #trigger: Trigger;
  readonly #startedAt: string;
  readonly #deadline = new AbortController();
  readonly #stored: AuditRecord[] = [];
  readonly #audited = new Set<string>();
  /** What the acting policy was about to do, for a Failed record. */
  readonly #attempted = new Map<string, Pick<Decision, 'action' | 'desiredReplicas' | 'rawDesired' | 'currentReplicas'>>();
  #stage: 'reading' | 'deciding' | 'acting' = 'reading';
  #currentReplicas: number | null = null;

  constructor(job: TargetJob, deps: ReconcileDeps) {
    this.#job = job;
    this.#deps = deps;
    this.#limits = limitsFor(
      job.policies.map((p) => p.policy),
      { ...(deps.options.targetTimeoutMs !== undefined ? { targetTimeoutMs: deps.options.targetTimeoutMs } : {}), ...(deps.options.readTimeoutMs !== undefined ? { readTimeoutMs: deps.options.readTimeoutMs } : {}) },
    );
    this.#trigger = toAuditTrigger(deps.trigger);
    this.#startedAt = new Date(deps.now()).toISOString();
  }

  async reconcile(): Promise<AuditRecord[]> {
    const { batcher } = this.#deps;
    batcher.join();
    let asked = false;
    try {
      await within(this.#limits.deadlineMs, new AbortController().signal, async (signal) => {
        signal.addEventListener('abort', () => this.#deadline.abort(signal.reason), { once: true });
        await this.#flow(() => (asked = true));
      });
    } catch (error) {
      await this.#recordFailure(error);
    } finally {
      if (!asked) batcher.leave();
    }
    return this.#stored;
  }

  async #flow(askedForMetrics: () => void): Promise<void> {
    const { options, batcher } = this.#deps;
    const signal = this.#deadline.signal;
    const first = this.#job.policies[0]!.policy;

    // 1. Read the target.
    const plugin = await load<ScaleTarget>('targets', first.target.type, options.registry);
    const state = await within(this.#limits.readMs, signal, (readSignal) => plugin.describe(requestFor(first), this.#context(readSignal)));
    this.#currentReplicas = state.replicas;

    // 2. Labels, then this target's metrics.
    const prepared = this.#job.policies.map((stored) => prepare(stored, state, options.ceiling));
    const requests: MetricRequest[] = prepared.flatMap((p) => metricRequestsOf(p.policy));
    askedForMetrics();
    const results = await batcher.fetch(requests, signal);

    // 3. Decide and arbitrate.
    this.#stage = 'deciding';
    let histories = await this.#readHistories(prepared);
    let evaluated = this.#decideAll(prepared, state.replicas, results, histories);
    let arbitration = arbitrate(evaluated.map(candidate));
    const active = prepared.some((p) => !p.policy.dryRun);
    const upkeep = active && (plugin.ensureAvailability !== undefined || plugin.reconcile !== undefined);

    // 4. Nothing to do (and no dead holder's record to store): audit and stop.
    if (!arbitration.actor && !upkeep && !(await this.#orphanedIntent())) {
      await this.#recordOthers(evaluated, arbitration.verdicts);
      return;
    }

    // 5. The lease. An alarm that wants to act waits for it a while (it notifies once per state change).
    const waitMs = arbitration.actor && this.#deps.trigger.type === 'alarm' ? Math.min(options.alarmLeaseWaitMs ?? defaultAlarmLeaseWaitMs, this.#limits.deadlineMs / 2) : 0;
    const owner = `${options.owner}#${randomUUID().slice(0, 8)}`;
    const taken = await TargetLease.acquire(this.#deps, this.#job.key, owner, { durationMs: this.#limits.leaseMs, ...(options.leaseRenewalMs ? { renewEveryMs: options.leaseRenewalMs } : {}), waitMs, signal, now: this.#deps.now, log: this.#deps.log });
    if (!taken.acquired) {
      const actor = evaluated.find((e) => e.prepared.policy.id === arbitration.actor);
      if (actor) await this.#record(actor, { status: 'NotScaled', action: 'none', notScaledReason: 'LeaseHeld', details: { wanted: actor.decision.action, leaseHolder: taken.holder ?? null } });
      await this.#recordOthers(evaluated, arbitration.verdicts);
      return;
    }
    const lease = taken.lease;
    try {
      // 6. Under the lease: what a dead holder left, upkeep, then read and decide again.
      const ctx = this.#context(lease.signal);
      if (lease.staleIntent) {
        const recovered = await lease.recoverStaleIntent(async () => (await plugin.describe(requestFor(first), ctx)).replicas, options.owner);
        if (recovered) this.#stored.push(recovered);
      }
      if (upkeep && plugin.ensureAvailability) await this.#ensureAvailability(plugin, prepared[0]!, ctx);
      if (arbitration.actor) {
        const fresh = await within(this.#limits.readMs, lease.signal, (readSignal) => plugin.describe(requestFor(first), this.#context(readSignal)));
        this.#currentReplicas = fresh.replicas;
        histories = await this.#readHistories(prepared);
        evaluated = this.#decideAll(prepared, fresh.replicas, results, histories);
        arbitration = arbitrate(evaluated.map(candidate));
      }

      // 7. Act.
      let reconciled: Record<string, unknown> | undefined;
      const actor = evaluated.find((e) => e.prepared.policy.id === arbitration.actor);
      if (actor) {
        this.#stage = 'acting';
        reconciled = await this.#act(actor, plugin, lease, upkeep);
      } else if (upkeep && plugin.reconcile) {
        reconciled = await reconcileSafely(plugin, prepared[0]!.policy, options, ctx);
      }

      // 8. Everyone else.
      await this.#recordOthers(evaluated, arbitration.verdicts, reconciled && !actor ? { reconcile: reconciled } : {});
    } finally {
      await lease.release();
    }
  }

  async #act(actor: Evaluated, plugin: ScaleTarget, lease: TargetLease, upkeep: boolean): Promise<Record<string, unknown> | undefined> {
    const { decision, prepared } = actor;
    const ctx = this.#context(lease.signal);
    const triggerId = this.#deps.trigger.id ?? this.#deps.trigger.messageId;
    const activityId = randomUUID();
    if (triggerId && !(await lease.claimTrigger(triggerId, activityId))) {
      await this.#record(actor, { status: 'NotScaled', action: 'none', notScaledReason: 'DuplicateTrigger', details: { wanted: decision.action, triggerId } });
      return undefined;
    }
    this.#attempted.set(prepared.policy.id, decision);
    // The full record, as it will read if all goes well, is stored before acting.
    await lease.recordIntent(this.#build(actor, { status: 'Successful', action: decision.action, activityId }));
    let outcome: Outcome;
    try {
      const loadBalancer = await loadBalancerFor(prepared.policy, plugin, this.#deps.options, ctx);
      const result = await plugin.scale(requestFor(prepared.policy, loadBalancer), decision.desiredReplicas, ctx);
      outcome = { status: 'Successful', action: decision.action, details: { ...result.details, replicasAfter: result.replicas } };
      await this.#saveHistory(prepared.policy, decision.history, actor.history.version);
    } catch (error) {
      // A plug-in that fails part-way says what it already did (e.g. clones created and removed again).
      outcome = { status: 'Failed', action: decision.action, error: message(error), ...(detailsOf(error) ? { details: detailsOf(error) } : {}) };
    }
    const reconciled = upkeep && plugin.reconcile ? await reconcileSafely(plugin, prepared.policy, this.#deps.options, ctx) : undefined;
    const record = this.#build(actor, { ...outcome, activityId, details: { ...outcome.details, ...(reconciled ? { reconcile: reconciled } : {}) } });
    // Stored, or kept in the intent for the next evaluation: either way this policy's record is taken care of.
    const stored = await lease.complete(record);
    this.#audited.add(prepared.policy.id);
    if (stored) this.#stored.push(record);
    return reconciled;
  }

  async #ensureAvailability(plugin: ScaleTarget, first: Prepared, ctx: PluginContext): Promise<void> {
    // Restarted and recreated containers must rejoin the load balancer, so the plug-in gets it too.
    const actions = await plugin.ensureAvailability!(requestFor(first.policy, await loadBalancerFor(first.policy, plugin, this.#deps.options, ctx)), ctx);
    for (const a of actions) {
      await this.#write(
        buildRecord({
          policyId: first.policy.id,
          policyVersion: first.stored.version,
          target: this.#job.key,
          trigger: { type: 'availability', ...(this.#trigger.id ? { id: this.#trigger.id } : {}) },
          currentReplicas: this.#currentReplicas,
          action: a.action,
          status: a.status,
          details: a.details,
          ...(a.error ? { error: a.error } : {}),
          startedAt: this.#startedAt,
          endedAt: this.#iso(),
        }),
      );
    }
  }

  /** Records for every policy not yet audited, by its verdict; saves the histories that stand. */
  async #recordOthers(evaluated: readonly Evaluated[], verdicts: ReadonlyMap<string, Verdict>, extra: Record<string, unknown> = {}): Promise<void> {
    for (const e of evaluated) {
      const id = e.prepared.policy.id;
      if (this.#audited.has(id)) continue;
      const verdict = verdicts.get(id) ?? { kind: 'none' };
      const { decision } = e;
      let outcome: Outcome;
      let history: BehaviorHistory = decision.history;
      if (verdict.kind === 'dryRun') {
        outcome = { status: 'DryRun', action: decision.action };
      } else if (verdict.kind === 'overridden' || verdict.kind === 'act') {
        // 'act' here: the actor that could not act (no lease was needed after all); same as overridden by nobody.
        outcome = { status: 'NotScaled', action: 'none', notScaledReason: 'OverriddenByPolicy', details: { wanted: decision.action, overriddenBy: verdict.kind === 'overridden' ? verdict.by : null } };
        history = withoutAction(decision.history, e.history.history);
      } else {
        outcome = { status: 'NotScaled', action: 'none', ...(decision.notScaledReason ? { notScaledReason: decision.notScaledReason } : {}) };
      }
      await this.#saveHistory(e.prepared.policy, history, e.history.version);
      await this.#record(e, { ...outcome, details: { ...outcome.details, ...extra } });
    }
  }

  async #record(e: Evaluated, outcome: Outcome): Promise<void> {
    this.#audited.add(e.prepared.policy.id);
    await this.#write(this.#build(e, outcome));
  }

  #build(e: Evaluated, outcome: Outcome): AuditRecord {
    const { decision, prepared } = e;
    const details: Record<string, unknown> = { ...outcome.details };
    if (prepared.labelDetails) details.labels = prepared.labelDetails;
    if (Object.keys(e.metricErrors).length > 0) details.metricErrors = e.metricErrors;
    return buildRecord({
      ...(outcome.activityId ? { activityId: outcome.activityId } : {}),
      policyId: prepared.policy.id,
      policyVersion: prepared.stored.version,
      target: this.#job.key,
      trigger: this.#trigger,
      inputs: e.inputs,
      currentReplicas: decision.currentReplicas,
      rawDesired: decision.rawDesired,
      desiredReplicas: decision.desiredReplicas,
      action: outcome.action,
      status: outcome.status,
      ...(outcome.notScaledReason ? { notScaledReason: outcome.notScaledReason } : {}),
      reason: decision.reason,
      details,
      ...(outcome.error ? { error: outcome.error } : {}),
      startedAt: this.#startedAt,
      endedAt: this.#iso(),
    });
  }

  /** A Failed record for each policy without one: what failed, and what it was about to do. */
  async #recordFailure(error: unknown): Promise<void> {
    let text: string;
    if (this.#stage === 'reading') {
      text = error instanceof TimeoutError ? `timed out after ${this.#limits.readMs} ms reading the target` : `reading the target failed: ${message(error)}`;
    } else if (error instanceof TimeoutError) {
      text = `timed out after ${this.#limits.deadlineMs} ms${this.#stage === 'acting' ? ' while acting (the next evaluation records the outcome)' : ''}`;
    } else {
      text = message(error);
    }
    for (const { policy, version } of this.#job.policies) {
      if (this.#audited.has(policy.id)) continue;
      this.#audited.add(policy.id);
      const attempted = this.#attempted.get(policy.id);
      await this.#put(
        buildRecord({
          policyId: policy.id,
          policyVersion: version,
          target: this.#job.key,
          trigger: this.#trigger,
          currentReplicas: attempted?.currentReplicas ?? this.#currentReplicas,
          rawDesired: attempted?.rawDesired ?? null,
          desiredReplicas: attempted?.desiredReplicas ?? null,
          action: attempted?.action ?? 'none',
          status: 'Failed',
          error: text,
          startedAt: this.#startedAt,
          endedAt: this.#iso(),
        }),
      );
    }
  }

  /** Writes a record unless the deadline has passed (then the failure records speak for this run). */
  async #write(record: AuditRecord): Promise<void> {
    if (this.#deadline.signal.aborted) return;
    await this.#put(record);
  }

  async #put(record: AuditRecord): Promise<void> {
    try {
      await this.#deps.audit.put(record);
      this.#stored.push(record);
    } catch (error) {
      this.#deps.log(`audit write failed for ${record.policyId} on ${record.target}: ${message(error)}`);
    }
  }

  #decideAll(prepared: readonly Prepared[], replicas: number, results: Map<string, MetricResult>, histories: Map<string, StoredHistory>): Evaluated[] {
    const evaluatedAt = this.#deps.now();
    const alarmContext = this.#deps.trigger.alarm;
    return prepared.map((p) => {
      const { metrics, inputs, errors } = readingsFor(p.policy, results);
      const history = histories.get(p.policy.id)!;
      const alarm = alarmContext && p.policy.alarms.includes(alarmContext.name) ? alarmContext : undefined;
      const decision = decide({ policy: p.policy, currentReplicas: replicas, metrics, now: evaluatedAt, history: history.history, ceiling: this.#deps.options.ceiling, ...(alarm ? { alarm } : {}) });
      return { prepared: p, decision, history, inputs, metricErrors: errors };
    });
  }

  async #readHistories(prepared: readonly Prepared[]): Promise<Map<string, StoredHistory>> {
    const histories = new Map<string, StoredHistory>();
    for (const p of prepared) histories.set(p.policy.id, await this.#deps.state.readHistory(p.policy.id));
    return histories;
  }

  /** Saves a history only if nobody wrote it since it was read (a concurrent actor's scale event is never lost). */
  async #saveHistory(policy: Policy, history: BehaviorHistory, expectedVersion: number): Promise<void> {
    const policyId = policy.id;
    try {
      const saved = await this.#deps.state.saveHistory(policyId, history, this.#deps.now(), expectedVersion, historyRetentionSeconds(policy));
      if (!saved) this.#deps.log(`behavior history of ${policyId} changed meanwhile; this evaluation's recommendation is not kept`);
    } catch (error) {
      this.#deps.log(`saving behavior history of ${policyId} failed: ${message(error)}`);
    }
  }

  /** A dead holder's intent whose lease has expired (or was released with the record unstored). */
  async #orphanedIntent(): Promise<boolean> {
    const held = await this.#deps.state.readLease(this.#job.key);
    return held?.intent !== undefined && Number(held.leaseUntil) < this.#deps.now();
  }

  #context(signal: AbortSignal): PluginContext {
    const { options } = this.#deps;
    return {
      endpoints: options.endpoints,
      signal,
      ...(options.getSecret ? { getSecret: options.getSecret } : {}),
      ...(options.pluginState ? { state: options.pluginState } : {}),
    };
  }

  #iso(): string {
    return new Date(this.#deps.now()).toISOString();
  }
}

type TargetDeps = ReconcileDeps;

function candidate(e: Evaluated) {
  return { policyId: e.prepared.policy.id, dryRun: e.prepared.policy.dryRun, decision: e.decision };
}

function prepare(stored: StoredPolicy, state: TargetState, ceiling: number): Prepared {
  if (!state.labels || !targetDescriptorOf(stored.policy.target.type)?.capabilities.labelOverrides) return { stored, policy: stored.policy };
  const result = applyLabelOverrides(stored.policy, { ...state.labels }, ceiling);
  if (result.applied.length === 0 && result.rejected.length === 0) return { stored, policy: result.policy };
  return { stored, policy: result.policy, labelDetails: { applied: result.applied, rejected: result.rejected } };
}

function readingsFor(policy: Policy, results: Map<string, MetricResult>) {
  const metrics: Record<string, MetricReading | undefined> = {};
  const inputs: Array<AuditRecord['inputs'][number]> = [];
  const errors: Record<string, string> = {};
  for (const metric of policy.metrics) {
    const result = results.get(requestKey(policy, metric));
    if (result && 'error' in result) {
      errors[metric.id] = result.error;
      metrics[metric.id] = undefined;
    } else if (result && !Number.isFinite(result.value)) {
      // A reading that is not a number a decision can use (Redis beyond a double reads as Infinity) is missing, not huge.
      errors[metric.id] = `the source returned ${String(result.value)}, not a finite number`;
      metrics[metric.id] = undefined;
    } else {
      metrics[metric.id] = result;
    }
    const reading = metrics[metric.id];
    inputs.push({ metric: metric.id, value: reading ? reading.value : result && !('error' in result) ? result.value : null, timestamp: reading ? new Date(reading.timestamp).toISOString() : null });
  }
  return { metrics, inputs, errors };
}

/** The history as if the decision had not acted: its recommendation kept, its scale event not. */
function withoutAction(next: BehaviorHistory, previous: BehaviorHistory): BehaviorHistory {
  const { lastScaleInAt: _in, lastScaleOutAt: _out, ...rest } = next;
  return {
    ...rest,
    events: previous.events,
    ...(previous.lastScaleOutAt !== undefined ? { lastScaleOutAt: previous.lastScaleOutAt } : {}),
    ...(previous.lastScaleInAt !== undefined ? { lastScaleInAt: previous.lastScaleInAt } : {}),
  };
}

async function reconcileSafely(plugin: ScaleTarget, policy: Policy, options: EvaluationOptions, ctx: PluginContext): Promise<Record<string, unknown>> {
  try {
    return { ...(await plugin.reconcile!(requestFor(policy, await loadBalancerFor(policy, plugin, options, ctx)), ctx)) };
  } catch (error) {
    return { error: message(error) };
  }
}

/** The policy's load balancer, given what the target's plug-in offers it (e.g. container access for nginx). */
async function loadBalancerFor(policy: Policy, plugin: ScaleTarget, options: EvaluationOptions, ctx: PluginContext): Promise<LoadBalancerPlugin | undefined> {
  if (!policy.loadBalancer) return undefined;
  const factory = await load<LoadBalancerFactory>('loadBalancers', policy.loadBalancer.type, options.registry);
  return factory.create(policy.loadBalancer, policy.target, ctx, targetAccess(plugin, policy.target, ctx));
}

function requestFor(policy: Policy, loadBalancer?: LoadBalancerPlugin): ScaleRequest {
  return { policy, target: policy.target, ...(loadBalancer ? { loadBalancer } : {}) };
}

export function toAuditTrigger(trigger: EvaluationTrigger): Trigger {
  const { alarm: _alarm, ...rest } = trigger;
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) clean[key] = value;
  return clean as unknown as Trigger;
}

function detailsOf(error: unknown): Record<string, unknown> | undefined {
  const details = (error as { details?: unknown } | null)?.details;
  return details !== null && typeof details === 'object' ? { ...(details as Record<string, unknown>) } : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
