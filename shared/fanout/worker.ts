/**
 * What a worker does with one shard message: drop it if stale, load its policies, evaluate them
 * (through ./evaluation.ts, the one call site of the engine), and fail the shard if any policy was
 * left without an audit record, so that SQS delivers it again. Pure orchestration; the SQS and
 * Lambda edges are in functions/worker/handler.ts and ./in-process-queue.ts.
 *
 * Idempotent per (tick id, target): the tick id is the trigger id, and the engine writes a
 * conditional marker per (trigger id, target) before acting, so a redelivered shard acts on no
 * target twice (a repeat that would act is audited NotScaled 'DuplicateTrigger').
 */
import type { AuditRecord } from '../audit/record.ts';
import { enabledSelections } from '../evaluate/policies.ts';
import { selectedId, type EvaluationOptions, type EvaluationTrigger, type SelectedPolicy } from '../evaluate/types.ts';
import { evaluateShardPolicies, type EvaluationStores } from './evaluation.ts';
import type { ShardMessage } from './message.ts';

export interface PolicyLoader {
  /** The current policies with these ids, valid or not (an invalid one is audited PolicyInvalid); deleted ones are left out. */
  getMany(ids: readonly string[]): Promise<readonly SelectedPolicy[]>;
}

export interface ShardDependencies {
  readonly policies: PolicyLoader;
  readonly stores: EvaluationStores;
  readonly options: EvaluationOptions;
  readonly now: () => number;
}

export type ShardOutcome =
  | { readonly outcome: 'stale'; readonly ageMs: number }
  | {
      readonly outcome: 'evaluated';
      readonly policies: number;
      readonly records: number;
      readonly failures: number;
      /** The records written, for the per-target metrics. */
      readonly written: readonly AuditRecord[];
      /** From the tick to the shard's last audit record, ms. */
      readonly sinceTickMs: number;
    };

/** A shard some of whose policies got no audit record: SQS should deliver it again. */
export class ShardIncompleteError extends Error {}

export async function runShard(message: ShardMessage, deps: ShardDependencies): Promise<ShardOutcome> {
  // The next tick re-reads everything; evaluating an old shard would only act on old readings.
  const ageMs = deps.now() - message.tickAt;
  if (ageMs > message.intervalMs) return { outcome: 'stale', ageMs };

  const loaded = await deps.policies.getMany(message.policies.map((p) => p.id));
  // The index may lag a write by a moment: the stored policy has the last word (disabled ones are skipped by the engine).
  const policies = enabledSelections(loaded);
  const trigger: EvaluationTrigger = { type: message.trigger ?? 'schedule', id: message.tickId };
  const { records } = await evaluateShardPolicies(policies, trigger, deps.stores, deps.options);
  const audited = new Set(records.map((r) => r.policyId));
  const missing = policies.map(selectedId).filter((id) => !audited.has(id));
  if (missing.length > 0) {
    throw new ShardIncompleteError(
      `shard ${message.shard + 1}/${message.shards} of tick ${message.tickId}: no audit record for ${missing.length} of ${policies.length} policies (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}); delivering it again`,
    );
  }
  return {
    outcome: 'evaluated',
    policies: policies.length,
    records: records.length,
    failures: records.filter((r) => r.status === 'Failed').length,
    written: records,
    sinceTickMs: deps.now() - message.tickAt,
  };
}
