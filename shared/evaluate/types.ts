/**
 * The contract between the handlers (functions/), the local mode and the engine's orchestration
 * (shared/evaluate/evaluate.ts). Owner: the state work (issue 3).
 */
import type { AuditRecord, Trigger } from '../audit/record.ts';
import type { Endpoints } from '../config/endpoints.ts';
import type { AlarmContext } from '../engine/types.ts';
import type { Policy } from '../policy/schema.ts';
import type { Registry } from '../plugins/registry.ts';

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
  /** Who takes leases (the Lambda request id, or host:pid locally). */
  readonly owner: string;
  /** Per-target time limit, ms. Default 60 000. */
  readonly targetTimeoutMs?: number;
  /** How many targets are worked on at once. Default 10. */
  readonly parallelism?: number;
  readonly getSecret?: (secretId: string) => Promise<string>;
  readonly now?: () => number;
}

/** Summary of one evaluation: every audit record written, in target order. */
export interface EvaluationResult {
  readonly records: readonly AuditRecord[];
}
