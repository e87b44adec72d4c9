// The evaluation core as it was before issue 9 (git 3e6f0b3, shared/evaluate/evaluate.ts), kept only so
// bench/alarm-storm.bench.ts can show the old behaviour beside the new one in one run. Not used by the product.
/**
 * One evaluation, as DESIGN.md's data path: targets read → metrics fetched per source → decide →
 * lease → act → audit. The contract (ordering, leases, idempotency, recovery) is in ./types.ts.
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecord, Trigger } from '../../shared/audit/record.ts';
import { decide } from '../../shared/engine/decide.ts';
import type { BehaviorHistory, Decision, MetricReading } from '../../shared/engine/types.ts';
import { applyLabelOverrides } from '../../shared/policy/labels.ts';
import { targetKey, type Policy } from '../../shared/policy/schema.ts';
import { load } from '../../shared/plugins/registry.ts';
import type { LoadBalancerFactory, LoadBalancerPlugin, MetricRequest, MetricResult, MetricSource, PluginContext, PluginStateStore, ScaleRequest, ScaleTarget, TargetState } from '../../shared/plugins/types.ts';
import type { AuditStore } from '../../shared/state/audit.ts';
import type { Intent, StateStore, StoredHistory } from '../../shared/state/state.ts';
import type { EvaluationOptions, EvaluationResult, EvaluationTrigger, StoredPolicy } from '../../shared/evaluate/types.ts';

export interface EvaluationStores {
  readonly state: StateStore;
  readonly audit: AuditStore;
  /** Durable plug-in state (then: recorded container specs only); without it plug-ins keep it in memory. */
  readonly pluginState?: PluginStateStore;
}

const defaultTimeoutMs = 60_000;
const defaultParallelism = 10;
const leaseMarginMs = 30_000;
const defaultAlarmLeaseWaitMs = 20_000;

/** A policy as this evaluation sees it: labels applied, with what that did. */
interface Prepared {
  readonly stored: StoredPolicy;
  readonly policy: Policy;
  readonly labelDetails?: Record<string, unknown>;
}

/** A target after the read phase: its policies, plug-in and state (or why it could not be read). */
interface TargetWork {
  readonly key: string;
  readonly stored: StoredPolicy[];
  prepared: Prepared[];
  plugin?: ScaleTarget;
  state?: TargetState;
  error?: string;
}

interface Evaluated {
  readonly prepared: Prepared;
  readonly decision: Decision;
  readonly history: StoredHistory;
  readonly inputs: AuditRecord['inputs'];
  readonly metricErrors: Record<string, string>;
}

class TimeoutError extends Error {}

export async function evaluate(
  policies: readonly StoredPolicy[],
  trigger: EvaluationTrigger,
  stores: EvaluationStores,
  options: EvaluationOptions,
): Promise<EvaluationResult> {
  if (stores.pluginState && !options.pluginState) options = { ...options, pluginState: stores.pluginState };
  const now = options.now ?? Date.now;
  const timeoutMs = options.targetTimeoutMs ?? defaultTimeoutMs;
  const parallelism = Math.max(1, options.parallelism ?? defaultParallelism);
  const log = options.log ?? ((message: string) => console.warn(message));
  const auditTrigger = toAuditTrigger(trigger);

  // Group by target, in a stable order.
  const groups = new Map<string, StoredPolicy[]>();
  for (const stored of [...policies].sort((a, b) => a.policy.id.localeCompare(b.policy.id))) {
    if (!stored.policy.enabled) continue;
    const key = targetKey(stored.policy.target);
    groups.set(key, [...(groups.get(key) ?? []), stored]);
  }
  const work: TargetWork[] = [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, stored]) => ({ key, stored, prepared: [] }));
  const recordsByTarget = new Map<string, AuditRecord[]>(work.map((w) => [w.key, []]));

  const writeRecord = async (record: AuditRecord): Promise<void> => {
    try {
      await stores.audit.put(record);
      recordsByTarget.get(record.target)?.push(record);
    } catch (error) {
      log(`audit write failed for ${record.policyId} on ${record.target}: ${message(error)}`);
    }
  };

  // 1. Read each target (and apply its Docker labels).
  await runBounded(work, parallelism, async (w) => {
    const startedAt = new Date(now()).toISOString();
    try {
      await withTimeout(timeoutMs, async (signal) => {
        const ctx = pluginContext(options, signal);
        const first = w.stored[0]!.policy;
        w.plugin = await load<ScaleTarget>('targets', first.target.type, options.registry);
        w.state = await w.plugin.describe(requestFor(first), ctx);
        w.prepared = w.stored.map((stored) => prepare(stored, w.state!, options.ceiling));
      });
    } catch (error) {
      w.error = error instanceof TimeoutError ? `timed out after ${timeoutMs} ms reading the target` : `reading the target failed: ${message(error)}`;
      for (const stored of w.stored) await writeRecord(failedRecord(stored, w.key, auditTrigger, startedAt, now(), w.error, null));
    }
  });

  // 2. Fetch every metric of every readable target: one call per source.
  const readable = work.filter((w) => w.error === undefined);
  const results = await fetchMetrics(readable.flatMap((w) => w.prepared.map((p) => p.policy)), options, timeoutMs);

  // 3. Per target: decide, lease, act, audit.
  await runBounded(readable, parallelism, async (w) => {
    const startedAt = new Date(now()).toISOString();
    let acting = false;
    const written: Array<{ policyId: string }> = [];
    try {
      await withTimeout(
        timeoutMs,
        async (signal) => {
          await actOnTarget(w, {
            signal,
            results,
            stores,
            options,
            trigger,
            auditTrigger,
            now,
            timeoutMs,
            log,
            startedAt,
            write: async (record) => {
              if (signal.aborted) return;
              await writeRecord(record);
              written.push(record);
            },
            setActing: (value) => {
              acting = value;
            },
          });
        },
      );
    } catch (error) {
      const text = error instanceof TimeoutError ? `timed out after ${timeoutMs} ms${acting ? ' while acting (the next evaluation records the outcome)' : ''}` : message(error);
      for (const prepared of w.prepared) {
        if (written.some((r) => r.policyId === prepared.policy.id)) continue;
        await writeRecord(failedRecord(prepared.stored, w.key, auditTrigger, startedAt, now(), text, w.state?.replicas ?? null));
      }
    }
  });

  return { records: work.flatMap((w) => recordsByTarget.get(w.key) ?? []) };
}

interface ActContext {
  readonly signal: AbortSignal;
  readonly results: Map<string, MetricResult>;
  readonly stores: EvaluationStores;
  readonly options: EvaluationOptions;
  readonly trigger: EvaluationTrigger;
  readonly auditTrigger: Trigger;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly log: (message: string) => void;
  readonly startedAt: string;
  readonly write: (record: AuditRecord) => Promise<void>;
  readonly setActing: (acting: boolean) => void;
}

async function actOnTarget(w: TargetWork, c: ActContext): Promise<void> {
  const ctx = pluginContext(c.options, c.signal);
  const plugin = w.plugin!;
  const evaluatedAt = c.now();
  const histories = new Map<string, StoredHistory>();
  for (const p of w.prepared) histories.set(p.policy.id, await c.stores.state.readHistory(p.policy.id));

  const decideAll = (replicas: number): Evaluated[] =>
    w.prepared.map((prepared) => {
      const { metrics, inputs, errors } = readingsFor(prepared.policy, c.results);
      const history = histories.get(prepared.policy.id)!;
      const alarm = c.trigger.alarm && prepared.policy.alarms.includes(c.trigger.alarm.name) ? c.trigger.alarm : undefined;
      const decision = decide({ policy: prepared.policy, currentReplicas: replicas, metrics, now: evaluatedAt, history: history.history, ceiling: c.options.ceiling, ...(alarm ? { alarm } : {}) });
      return { prepared, decision, history, inputs, metricErrors: errors };
    });

  let evaluated = decideAll(w.state!.replicas);
  let actor = chooseActor(evaluated);
  const anyActive = w.prepared.some((p) => !p.policy.dryRun && p.policy.enabled);
  const maintains = anyActive && (plugin.ensureAvailability !== undefined || plugin.reconcile !== undefined);
  const done = new Set<string>();
  const record = (e: Evaluated, fields: Partial<AuditRecord> & Pick<AuditRecord, 'status' | 'action'>): AuditRecord =>
    baseRecord(e, w.key, c.auditTrigger, c.startedAt, c.now(), fields);

  // Records for every policy that is not the actor (the actor's comes after acting).
  const recordBystanders = async (extra: Record<string, unknown> = {}): Promise<void> => {
    for (const e of evaluated) {
      if (e === actor || done.has(e.prepared.policy.id)) continue;
      done.add(e.prepared.policy.id);
      const { decision, prepared } = e;
      let fields: Partial<AuditRecord> & Pick<AuditRecord, 'status' | 'action'>;
      let keepHistory: BehaviorHistory | undefined = decision.history;
      if (prepared.policy.dryRun && decision.action !== 'none') {
        fields = { status: 'DryRun', action: decision.action };
      } else if (decision.action !== 'none') {
        fields = { status: 'NotScaled', action: 'none', notScaledReason: 'OverriddenByPolicy', details: { wanted: decision.action, overriddenBy: actor?.prepared.policy.id ?? null } };
        keepHistory = withoutAction(decision.history, e.history.history);
      } else {
        fields = { status: 'NotScaled', action: 'none', ...(decision.notScaledReason ? { notScaledReason: decision.notScaledReason } : {}) };
      }
      await saveHistory(c, prepared.policy.id, keepHistory, e.history.version);
      await c.write(record(e, { ...fields, details: { ...fields.details, ...extra } }));
    }
  };

  if (!actor && !maintains) {
    // Nothing to do here unless a dead holder left an intent behind: then take the lease to record it.
    const held = await c.stores.state.readLease(w.key);
    const orphaned = held?.intent !== undefined && Number(held.leaseUntil) < c.now();
    if (!orphaned) {
      await recordBystanders();
      return;
    }
  }

  const owner = `${c.options.owner}#${randomUUID().slice(0, 8)}`;
  const waitMs = actor && c.trigger.type === 'alarm' ? Math.min(c.options.alarmLeaseWaitMs ?? defaultAlarmLeaseWaitMs, c.timeoutMs / 2) : 0;
  const lease = await acquireLeaseWithin(c, w.key, owner, waitMs);
  if (!lease.acquired) {
    // Someone else is working on this target: they do the maintenance; our actor records LeaseHeld.
    if (actor) {
      const e = actor;
      actor = undefined;
      done.add(e.prepared.policy.id);
      await c.write(record(e, { status: 'NotScaled', action: 'none', notScaledReason: 'LeaseHeld', details: { wanted: e.decision.action, leaseHolder: lease.holder ?? null } }));
    }
    await recordBystanders();
    return;
  }

  let intentWritten = false;
  try {
    let changed = false;
    if (lease.staleIntent) {
      await recoverIntent(lease.staleIntent, plugin, w, c, ctx);
      await c.stores.state.clearIntent(w.key, owner);
      changed = true;
    }
    if (maintains && plugin.ensureAvailability) {
      // Restarted and recreated containers must rejoin the load balancer, so the plug-in gets it too.
      const actions = await plugin.ensureAvailability(await maintenanceRequest(w, c.options, ctx), ctx);
      for (const a of actions) {
        const first = w.prepared[0]!;
        await c.write({
          activityId: randomUUID(),
          policyId: first.policy.id,
          policyVersion: first.stored.version,
          target: w.key,
          trigger: { type: 'availability', ...(c.auditTrigger.id ? { id: c.auditTrigger.id } : {}) },
          inputs: [],
          currentReplicas: w.state!.replicas,
          rawDesired: null,
          desiredReplicas: null,
          action: a.action,
          status: a.status,
          details: a.details,
          ...(a.error ? { error: a.error } : {}),
          startedAt: c.startedAt,
          endedAt: new Date(c.now()).toISOString(),
        });
      }
      if (actions.length > 0) changed = true;
    }
    // Read again under the lease: someone may have acted between our first read and the lease.
    if (actor || changed) {
      const fresh = await plugin.describe(requestFor(w.prepared[0]!.policy), ctx);
      if (fresh.replicas !== w.state!.replicas) {
        w.state = fresh;
        evaluated = decideAll(fresh.replicas);
        actor = chooseActor(evaluated);
      }
    }

    let reconciled: Record<string, unknown> | undefined;
    if (actor) {
      const e = actor;
      const { decision, prepared } = e;
      const triggerId = c.trigger.id ?? c.trigger.messageId;
      const activityId = randomUUID();
      if (triggerId && !(await c.stores.state.markTrigger(triggerId, w.key, { owner, activityId }, c.now()))) {
        actor = undefined;
        done.add(prepared.policy.id);
        await c.write(record(e, { status: 'NotScaled', action: 'none', notScaledReason: 'DuplicateTrigger', details: { wanted: decision.action, triggerId } }));
      } else {
        const intent: Intent = {
          activityId,
          policyId: prepared.policy.id,
          policyVersion: prepared.stored.version,
          target: w.key,
          trigger: { ...c.auditTrigger },
          action: decision.action as 'scaleOut' | 'scaleIn',
          currentReplicas: decision.currentReplicas,
          rawDesired: decision.rawDesired,
          desiredReplicas: decision.desiredReplicas,
          reason: decision.reason,
          startedAt: c.startedAt,
          owner,
        };
        await c.stores.state.writeIntent(w.key, owner, intent);
        intentWritten = true;
        c.setActing(true);
        let outcome: Partial<AuditRecord> & Pick<AuditRecord, 'status' | 'action'>;
        try {
          const loadBalancer = await loadBalancerFor(prepared.policy, c.options, ctx);
          const result = await plugin.scale(requestFor(prepared.policy, loadBalancer), decision.desiredReplicas, ctx);
          outcome = { status: 'Successful', action: decision.action, details: { ...result.details, replicasAfter: result.replicas } };
          await saveHistory(c, prepared.policy.id, decision.history);
        } catch (error) {
          // A plug-in that fails part-way says what it already did (e.g. clones created and removed again).
          outcome = { status: 'Failed', action: decision.action, error: message(error), details: detailsOf(error) };
        }
        if (plugin.reconcile && maintains) reconciled = await reconcileSafely(plugin, w, c.options, ctx);
        done.add(prepared.policy.id);
        await c.write(record(e, { ...outcome, activityId, details: { ...outcome.details, ...(reconciled ? { reconcile: reconciled } : {}) } }));
      }
    } else if (plugin.reconcile && maintains) {
      reconciled = await reconcileSafely(plugin, w, c.options, ctx);
    }
    await recordBystanders(reconciled && !done.size ? { reconcile: reconciled } : {});
  } finally {
    // Timed out after writing an intent: keep lease and intent, so the next evaluation records what happened.
    if (!(c.signal.aborted && intentWritten)) await c.stores.state.releaseLease(w.key, owner);
  }
}

/** Takes the target's lease, polling with backoff for up to `waitMs` while another evaluation holds it. */
async function acquireLeaseWithin(c: ActContext, key: string, owner: string, waitMs: number) {
  const deadline = Date.now() + waitMs;
  let pause = 50;
  for (;;) {
    const lease = await c.stores.state.acquireLease(key, owner, c.timeoutMs + leaseMarginMs, c.now());
    if (lease.acquired || Date.now() + pause > deadline || c.signal.aborted) return lease;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(1_000, pause * 2);
  }
}

/** Writes the record a dead lease holder never wrote, judged by where the target is now. */
async function recoverIntent(intent: Intent, plugin: ScaleTarget, w: TargetWork, c: ActContext, ctx: PluginContext): Promise<void> {
  const now = await plugin.describe(requestFor(w.prepared[0]!.policy), ctx);
  const reached = now.replicas === intent.desiredReplicas;
  await c.write({
    activityId: intent.activityId,
    policyId: intent.policyId,
    policyVersion: intent.policyVersion,
    target: intent.target,
    trigger: intent.trigger as unknown as Trigger,
    inputs: [],
    currentReplicas: intent.currentReplicas,
    rawDesired: intent.rawDesired,
    desiredReplicas: intent.desiredReplicas,
    action: intent.action,
    status: reached ? 'Successful' : 'Failed',
    ...(intent.reason ? { reason: intent.reason } : {}),
    details: { recovered: true, recoveredBy: c.options.owner, replicasFound: now.replicas },
    ...(reached ? {} : { error: `interrupted: the evaluation (${intent.owner}) stopped while acting; found ${now.replicas} replicas, intended ${intent.desiredReplicas}` }),
    startedAt: intent.startedAt,
    endedAt: new Date(c.now()).toISOString(),
  });
}

/** Upkeep (availability, reconcile) works for the target's first policy, with that policy's load balancer. */
async function maintenanceRequest(w: TargetWork, options: EvaluationOptions, ctx: PluginContext): Promise<ScaleRequest> {
  const policy = w.prepared[0]!.policy;
  return requestFor(policy, await loadBalancerFor(policy, options, ctx));
}

async function reconcileSafely(plugin: ScaleTarget, w: TargetWork, options: EvaluationOptions, ctx: PluginContext): Promise<Record<string, unknown>> {
  try {
    return { ...(await plugin.reconcile!(await maintenanceRequest(w, options, ctx), ctx)) };
  } catch (error) {
    return { error: message(error) };
  }
}

/** The one policy that may act: the largest desired among active policies, if that changes replicas. */
function chooseActor(evaluated: Evaluated[]): Evaluated | undefined {
  let best: Evaluated | undefined;
  for (const e of evaluated) {
    if (e.prepared.policy.dryRun) continue;
    if (best === undefined || e.decision.desiredReplicas > best.decision.desiredReplicas) best = e;
  }
  return best && best.decision.action !== 'none' ? best : undefined;
}

async function saveHistory(c: ActContext, policyId: string, history: BehaviorHistory, expectedVersion?: number): Promise<void> {
  try {
    const saved = await c.stores.state.saveHistory(policyId, history, c.now(), expectedVersion);
    if (!saved) c.log(`behavior history of ${policyId} changed meanwhile; this evaluation's recommendation is not kept`);
  } catch (error) {
    c.log(`saving behavior history of ${policyId} failed: ${message(error)}`);
  }
}

/** The history as if the decision had not acted: its recommendation kept, its scale event not. */
function withoutAction(next: BehaviorHistory, previous: BehaviorHistory): BehaviorHistory {
  const { lastScaleInAt, lastScaleOutAt, ...rest } = next;
  return {
    ...rest,
    events: previous.events,
    ...(previous.lastScaleOutAt !== undefined ? { lastScaleOutAt: previous.lastScaleOutAt } : {}),
    ...(previous.lastScaleInAt !== undefined ? { lastScaleInAt: previous.lastScaleInAt } : {}),
  };
}

function prepare(stored: StoredPolicy, state: TargetState, ceiling: number): Prepared {
  if (!state.labels || stored.policy.target.type !== 'docker') return { stored, policy: stored.policy };
  const result = applyLabelOverrides(stored.policy, { ...state.labels }, ceiling);
  if (result.applied.length === 0 && result.rejected.length === 0) return { stored, policy: result.policy };
  return { stored, policy: result.policy, labelDetails: { applied: result.applied, rejected: result.rejected } };
}

async function fetchMetrics(policies: Policy[], options: EvaluationOptions, timeoutMs: number): Promise<Map<string, MetricResult>> {
  const bySource = new Map<string, MetricRequest[]>();
  for (const policy of policies) {
    for (const metric of policy.metrics) {
      const requests = bySource.get(metric.source) ?? [];
      requests.push({ key: `${policy.id}/${metric.id}`, metric });
      bySource.set(metric.source, requests);
    }
  }
  const results = new Map<string, MetricResult>();
  await Promise.all(
    [...bySource].map(async ([source, requests]) => {
      try {
        await withTimeout(timeoutMs, async (signal) => {
          const plugin = await load<MetricSource>('metricSources', source, options.registry);
          const fetched = await plugin.fetch(requests, pluginContext(options, signal));
          for (const request of requests) results.set(request.key, fetched.get(request.key));
        });
      } catch (error) {
        const text = error instanceof TimeoutError ? `${source}: timed out after ${timeoutMs} ms` : `${source}: ${message(error)}`;
        for (const request of requests) results.set(request.key, { error: text });
      }
    }),
  );
  return results;
}

function readingsFor(policy: Policy, results: Map<string, MetricResult>) {
  const metrics: Record<string, MetricReading | undefined> = {};
  const inputs: Array<AuditRecord['inputs'][number]> = [];
  const errors: Record<string, string> = {};
  for (const metric of policy.metrics) {
    const result = results.get(`${policy.id}/${metric.id}`);
    if (result && 'error' in result) {
      errors[metric.id] = result.error;
      metrics[metric.id] = undefined;
    } else {
      metrics[metric.id] = result;
    }
    const reading = metrics[metric.id];
    inputs.push({ metric: metric.id, value: reading ? reading.value : null, timestamp: reading ? new Date(reading.timestamp).toISOString() : null });
  }
  return { metrics, inputs, errors };
}

async function loadBalancerFor(policy: Policy, options: EvaluationOptions, ctx: PluginContext): Promise<LoadBalancerPlugin | undefined> {
  if (!policy.loadBalancer) return undefined;
  const factory = await load<LoadBalancerFactory>('loadBalancers', policy.loadBalancer.type, options.registry);
  return factory.create(policy.loadBalancer, policy.target, ctx);
}

function requestFor(policy: Policy, loadBalancer?: LoadBalancerPlugin): ScaleRequest {
  return { policy, target: policy.target, ...(loadBalancer ? { loadBalancer } : {}) };
}

function pluginContext(options: EvaluationOptions, signal: AbortSignal): PluginContext {
  return {
    endpoints: options.endpoints,
    signal,
    ...(options.getSecret ? { getSecret: options.getSecret } : {}),
    ...(options.pluginState ? { state: options.pluginState } : {}),
  };
}

function toAuditTrigger(trigger: EvaluationTrigger): Trigger {
  const { alarm: _alarm, ...rest } = trigger;
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) clean[key] = value;
  return clean as unknown as Trigger;
}

function baseRecord(
  e: Evaluated,
  target: string,
  trigger: Trigger,
  startedAt: string,
  endedAt: number,
  fields: Partial<AuditRecord> & Pick<AuditRecord, 'status' | 'action'>,
): AuditRecord {
  const { decision, prepared } = e;
  const details: Record<string, unknown> = { ...fields.details };
  if (prepared.labelDetails) details.labels = prepared.labelDetails;
  if (Object.keys(e.metricErrors).length > 0) details.metricErrors = e.metricErrors;
  return {
    activityId: fields.activityId ?? randomUUID(),
    policyId: prepared.policy.id,
    policyVersion: prepared.stored.version,
    target,
    trigger,
    inputs: e.inputs,
    currentReplicas: decision.currentReplicas,
    rawDesired: decision.rawDesired,
    desiredReplicas: decision.desiredReplicas,
    action: fields.action,
    status: fields.status,
    ...(fields.notScaledReason ? { notScaledReason: fields.notScaledReason } : {}),
    reason: decision.reason,
    ...(Object.keys(details).length > 0 ? { details } : {}),
    ...(fields.error ? { error: fields.error } : {}),
    startedAt,
    endedAt: new Date(endedAt).toISOString(),
  };
}

function failedRecord(stored: StoredPolicy, target: string, trigger: Trigger, startedAt: string, endedAt: number, error: string, current: number | null): AuditRecord {
  return {
    activityId: randomUUID(),
    policyId: stored.policy.id,
    policyVersion: stored.version,
    target,
    trigger,
    inputs: [],
    currentReplicas: current,
    rawDesired: null,
    desiredReplicas: null,
    action: 'none',
    status: 'Failed',
    error,
    startedAt,
    endedAt: new Date(endedAt).toISOString(),
  };
}

/** Runs `work` with a signal that aborts after `ms`; rejects with TimeoutError then, even if `work` ignores the signal. */
async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, controller = new AbortController()): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new TimeoutError(`timed out after ${ms} ms`));
      reject(new TimeoutError(`timed out after ${ms} ms`));
    }, ms);
  });
  const running = work(controller.signal);
  running.catch(() => undefined); // after a timeout its failure has no one to go to
  try {
    return await Promise.race([running, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function runBounded<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await worker(item);
    }
  });
  await Promise.all(runners);
}

function detailsOf(error: unknown): Record<string, unknown> | undefined {
  const details = (error as { details?: unknown } | null)?.details;
  return details !== null && typeof details === 'object' ? { ...(details as Record<string, unknown>) } : undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
