/**
 * The audit record: one per policy evaluation that reached a decision, and one per
 * availability action. Modelled on AWS Application Auto Scaling's scaling activities.
 */
import type { Action, NotScaledReason, Status } from '../engine/types.ts';

export type TriggerType = 'schedule' | 'alarm' | 'availability' | 'manual';

export interface Trigger {
  readonly type: TriggerType;
  /** Identifies the trigger for idempotency: the SNS MessageId, the EventBridge event id, or a tick id. */
  readonly id?: string;
  readonly alarmName?: string;
  readonly messageId?: string;
  readonly alarmState?: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
}

export interface AuditRecord {
  readonly activityId: string;
  readonly policyId: string;
  readonly policyVersion: number;
  /** `targetKey(policy.target)`. */
  readonly target: string;
  readonly trigger: Trigger;
  readonly inputs: ReadonlyArray<{ readonly metric: string; readonly value: number | null; readonly timestamp: string | null }>;
  readonly currentReplicas: number | null;
  readonly rawDesired: number | null;
  readonly desiredReplicas: number | null;
  readonly action: Action;
  readonly status: Status;
  readonly notScaledReason?: NotScaledReason | string;
  /** The decision's reason sentence, and what was done, in short. */
  readonly reason?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly error?: string;
  /** ISO-8601 timestamps. */
  readonly startedAt: string;
  readonly endedAt: string;
}
