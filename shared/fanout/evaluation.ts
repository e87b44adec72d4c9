/**
 * The ONE place the fan-out calls the evaluation engine. Dispatcher (in-process), worker, local
 * mode and the bench all evaluate a shard through `evaluateShardPolicies`, so moving to the
 * per-target reconcile is a change of this one import and call.
 */
import { evaluate, type EvaluationStores } from '../evaluate/evaluate.ts';
import type { EvaluationOptions, EvaluationResult, EvaluationTrigger, StoredPolicy } from '../evaluate/types.ts';

export type { EvaluationStores };

export function evaluateShardPolicies(policies: readonly StoredPolicy[], trigger: EvaluationTrigger, stores: EvaluationStores, options: EvaluationOptions): Promise<EvaluationResult> {
  return evaluate(policies, trigger, stores, options);
}
