/**
 * The contract between the handlers (functions/), the local mode and the engine's orchestration
 * (shared/evaluate/evaluate.ts). Owner: the state work (issue 3).
 *
 * How a handler uses it:
 *
 *   const stores = storesFromEnvironment();                        // shared/state/client.ts, module scope
 *   const policies = await policiesForTrigger(trigger, stores.policies); // shared/evaluate/policies.ts
 *   const { records } = await evaluate(policies, trigger, stores, { registry, endpoints, ceiling, owner: context.awsRequestId });
 *
 * What `evaluate` guarantees:
 * - Policies are grouped by target (`targetKey`). Each target: `ScaleTarget.describe`, Docker label
 *   overrides (`applyLabelOverrides`; applied and rejected labels go into the audit details), then
 *   metrics are fetched once per source for ALL targets (one `MetricSource.fetch` per source), then
 *   per target: behavior history, `decide`, lease, act, audit.
 * - One audit record per policy evaluated (status Successful / Failed / DryRun / NotScaled with
 *   `notScaledReason`), plus one per availability action (trigger type 'availability').
 * - Several policies on one target: each is decided and audited, but only one acts per evaluation:
 *   the one with the LARGEST desired replicas (as the HPA does with several metrics; ties: the first
 *   policy id). If that one does not change replicas, none acts; the others that wanted to are
 *   audited NotScaled 'OverriddenByPolicy' with `details.overriddenBy`. Dry-run policies take no part.
 * - Acting takes the target's lease (conditional write; unique owner per evaluation; expiry =
 *   targetTimeoutMs + 30 s). The loser records NotScaled 'LeaseHeld'. Under the lease the target is
 *   read again and the decision redone if it changed meanwhile.
 * - Idempotency: a trigger with an id (`trigger.id`, else `messageId`) acts on a target at most once:
 *   a conditional marker (trigger id, target) is written under the lease before acting. A redelivery
 *   that would act again is audited NotScaled 'DuplicateTrigger'; a redelivery that finds nothing to do
 *   gets its ordinary NotScaled record.
 * - Crash safety: before acting, the intent (activity id, desired, …) is written on the lease item; it
 *   is cleared with the lease after the audit record. The next evaluation that takes the lease and
 *   finds an intent writes the missing record under the intent's activity id: Successful with
 *   `details.recovered: true` when the target is at the intended replicas, else Failed "interrupted".
 * - One failing target never stops the others. Reading a target, each metric source's fetch, and the
 *   decide/lease/act/audit work of a target each run under an AbortSignal that fires after
 *   `targetTimeoutMs`; a target that runs out gets Failed "timed out after N ms" records
 *   (if it had started acting, its lease and intent stay, and the next evaluation records the outcome).
 *   At most `parallelism` targets are worked on at once.
 * - Behavior history is saved when the decision stands (acted, nothing to do, dry run); a writer
 *   without the lease only writes if nobody else wrote the history since it was read.
 * - `evaluate` itself only throws for programming errors; every I/O failure becomes a Failed record
 *   (or, if the audit table itself fails, is logged and left out of `records`).
 */
import type { AuditRecord, Trigger } from '../audit/record.ts';
import type { Endpoints } from '../config/endpoints.ts';
import type { AlarmContext } from '../engine/types.ts';
import type { Policy } from '../policy/schema.ts';
import type { Registry } from '../plugins/registry.ts';
import type { SpecStore } from '../plugins/targets/docker/spec-store.ts';

/** A policy as stored: the validated policy plus its store version. */
export interface StoredPolicy {
  readonly policy: Policy;
  readonly version: number;
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
  /** Per-target time limit, ms. Default 60 000. */
  readonly targetTimeoutMs?: number;
  /**
   * How long an alarm-triggered evaluation that wants to act waits for a target lease held by
   * another evaluation (a schedule tick's upkeep, say), ms; then it records LeaseHeld. An alarm
   * notifies once per state change, so giving up at once could lose its scale-out for good; a
   * schedule tick never waits (the next tick comes anyway). Default 20 000, at most half the
   * per-target time limit.
   */
  readonly alarmLeaseWaitMs?: number;
  /** How many targets are worked on at once. Default 10. */
  readonly parallelism?: number;
  readonly getSecret?: (secretId: string) => Promise<string>;
  /** Where the Docker target records container specs; `evaluate` uses `stores.specs` when this is absent. */
  readonly specStore?: SpecStore;
  readonly now?: () => number;
  /** Where non-fatal problems go (audit writes that failed, history conflicts). Default console.warn. */
  readonly log?: (message: string) => void;
}

/** Summary of one evaluation: every audit record written, in target order. */
export interface EvaluationResult {
  readonly records: readonly AuditRecord[];
}
