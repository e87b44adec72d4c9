/**
 * The ONE place the fan-out calls the evaluation engine (the per-target reconcile behind
 * `evaluate`). Dispatcher (in-process), worker, local mode and the bench all evaluate a shard
 * through `evaluateShardPolicies`.
 */
import { evaluate, type EvaluationStores } from '../evaluate/evaluate.ts';
import type { EvaluationOptions, EvaluationResult, EvaluationTrigger, SelectedPolicy } from '../evaluate/types.ts';

export type { EvaluationStores };

export function evaluateShardPolicies(policies: readonly SelectedPolicy[], trigger: EvaluationTrigger, stores: EvaluationStores, options: EvaluationOptions): Promise<EvaluationResult> {
  return evaluate(policies, trigger, stores, options);
}
