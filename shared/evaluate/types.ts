/**
 * The contract between the handlers (functions/), the fan-out workers, the local mode and the
 * evaluation core (shared/evaluate/evaluate.ts → shared/reconcile/target.ts).
 *
 * How a caller uses it (one narrow entry: the trigger, the selected policies, the dependencies):
 *
 *   const stores = storesFromEnvironment();                               // shared/state/client.ts, module scope
 *   const policies = await policiesForTrigger(trigger, stores.policies);  // shared/evaluate/policies.ts
 *   const { records } = await evaluate(policies, trigger, stores, { registry, endpoints, ceiling, owner: context.awsRequestId });
 *
 * What `evaluate` guarantees:
 * - Per-target reconcile. Policies are grouped by target (`targetKey`); each target runs its own
 *   linear flow — read → its metrics → decide → lease → act → audit — and never waits for another
 *   target's I/O (no barrier between phases). Metrics are still batched per source (CloudWatch: one
 *   GetMetricData per 500 queries), but a batch leaves as soon as every target still reading has
 *   asked, or after a few ms: a slow or black-holed host delays only its own targets.
 * - Time limits follow from the policy (shared/reconcile/deadline.ts): reading a target ≤ 30 s;
 *   the target's deadline = 30 s + 60 s + the longest action its policies allow (start timeout, or
 *   drain + stop grace; the schema caps them so this stays under the 900 s function timeout). Every
 *   plug-in call gets the target's AbortSignal. A target that fails or runs out gets Failed records
 *   that say what was attempted (action and desired replicas, when a decision was reached).
 * - One audit record per policy evaluated (status Successful / Failed / DryRun / NotScaled with
 *   `notScaledReason`), plus one per availability action (trigger type 'availability'), plus one
 *   NotScaled 'PolicyInvalid' per selected stored policy that no longer validates (with the messages).
 *   Every record is built by shared/audit/build.ts and bounded below DynamoDB's item limit (long
 *   values truncated and marked, non-finite numbers stored as null with a note in `details.bounded`).
 * - Several policies on one target: each is decided and audited, but only one acts per evaluation,
 *   chosen by the pure `arbitrate` (shared/engine/arbitrate.ts): the LARGEST desired replicas (ties:
 *   first policy id); the others that wanted to act are NotScaled 'OverriddenByPolicy'.
 * - No two actors on one target: acting takes the target's lease (conditional write, unique owner
 *   per evaluation, duration = deadline + 30 s, renewed while held; a holder that loses it is fenced:
 *   its signal aborts). The loser records NotScaled 'LeaseHeld' (an alarm waits for the lease first,
 *   up to `alarmLeaseWaitMs`). Under the lease the target AND the behavior history are read again and
 *   the decision redone, so a cooldown or rate limit another actor just started holds; histories are
 *   always saved with a version check, so no scale event is lost.
 * - No action without an audit record: before acting, the full record is stored as the intent on the
 *   lease item (shared/state/lease.ts); the intent is dropped only once the record is in the audit
 *   table. If that put fails (throttling, item too large, …) the final record is kept in the intent
 *   and the next evaluation of the target stores it with `details.recovered: true`; a holder that
 *   died mid-action is recorded the same way (Successful if the target is at the intended replicas,
 *   else Failed "interrupted").
 * - Idempotency: a trigger with an id (`trigger.id`, else `messageId`) acts on a target at most once
 *   (a conditional marker per (trigger id, target), written under the lease before acting); a
 *   redelivery that would act again is audited NotScaled 'DuplicateTrigger'.
 * - `evaluate` itself only throws for programming errors; every I/O failure becomes a Failed record
 *   (or, if the audit table itself fails for a non-action record, is logged and left out of `records`).
 */
import type { AuditRecord, Trigger } from '../audit/record.ts';
import type { Endpoints } from '../config/endpoints.ts';
import type { AlarmContext } from '../engine/types.ts';
import type { Policy } from '../policy/schema.ts';
import type { Registry } from '../plugins/registry.ts';
import type { PluginStateStore } from '../plugins/types.ts';

/** A policy as stored: the validated policy plus its store version. */
export interface StoredPolicy {
  readonly policy: Policy;
  readonly version: number;
}

/**
 * A stored policy that no longer validates (an older writer, a tightened schema): it is not
 * evaluated, it gets its own NotScaled 'PolicyInvalid' record with the messages, and the CLI can
 * still get, overwrite or delete it.
 */
export interface InvalidStoredPolicy {
  readonly id: string;
  readonly version: number;
  /** `targetKey` of its target when that part still parses, else `policy/<id>`. */
  readonly target: string;
  readonly enabled: boolean;
  /** `path: message` per validation error. */
  readonly problems: readonly string[];
}

/** What a trigger selected: valid policies, and stored policies that no longer validate. */
export type SelectedPolicy = StoredPolicy | InvalidStoredPolicy;

export function isInvalid(selected: SelectedPolicy): selected is InvalidStoredPolicy {
  return 'problems' in selected;
}

export function selectedId(selected: SelectedPolicy): string {
  return isInvalid(selected) ? selected.id : selected.policy.id;
}

/** What started an evaluation; an alarm trigger carries the alarm's threshold and value. */
export interface EvaluationTrigger extends Trigger {
  readonly alarm?: AlarmContext;
}

export interface EvaluationOptions {
  readonly registry: Registry;
  readonly endpoints: Endpoints;
  /** Deployment-wide replica ceiling. */
  readonly ceiling: number;
  /** Who takes leases (the Lambda request id, or host:pid locally); a unique suffix is added per evaluation. */
  readonly owner: string;
  /**
   * Per-target time limit, ms. Default: derived from the target's policies
   * (shared/reconcile/deadline.ts: 30 s read + 60 s + the longest action the policies allow).
   */
  readonly targetTimeoutMs?: number;
  /** Time limit for reading a target (and for each metric fetch), ms. Default 30 000, at most the target's limit. */
  readonly readTimeoutMs?: number;
  /**
   * How long an alarm-triggered evaluation that wants to act waits for a target lease held by
   * another evaluation (a schedule tick's upkeep, say), ms; then it records LeaseHeld. An alarm
   * notifies once per state change, so giving up at once could lose its scale-out for good; a
   * schedule tick never waits (the next tick comes anyway). Default 20 000, at most half the
   * per-target time limit.
   */
  readonly alarmLeaseWaitMs?: number;
  /** How often a held lease is renewed, ms. Default a third of its duration. */
  readonly leaseRenewalMs?: number;
  /** How many targets are worked on at once (each independently, no phase barrier). Default 10. */
  readonly parallelism?: number;
  readonly getSecret?: (secretId: string) => Promise<string>;
  /** Plug-ins' state (e.g. the Docker target's recorded container specs); `evaluate` uses `stores.pluginState` when this is absent. */
  readonly pluginState?: PluginStateStore;
  readonly now?: () => number;
  /** Where non-fatal problems go (audit writes that failed, history conflicts). Default console.warn. */
  readonly log?: (message: string) => void;
}

/** Summary of one evaluation: every audit record written, in target order. */
export interface EvaluationResult {
  readonly records: readonly AuditRecord[];
}
