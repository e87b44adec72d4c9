/**
 * The decision engine's inputs and outputs. `decide()` (shared/engine/decide.ts) is a pure
 * function of these: no clock, no I/O. The caller persists `history` between evaluations.
 */
import type { Policy } from '../policy/schema.ts';
import type { EnvelopeHistory } from './envelope.ts';

/** One metric reading; `undefined` in a map means the metric had no datapoint (never read as zero). */
export interface MetricReading {
  readonly value: number;
  /** Epoch milliseconds of the datapoint. */
  readonly timestamp: number;
}

/** What an alarm brings to a `stepAdjust` rule. */
export interface AlarmContext {
  readonly name: string;
  readonly state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  /** The alarm's threshold. */
  readonly threshold: number;
  /** The breaching datapoint (the metric value the alarm evaluated). */
  readonly value: number;
  readonly comparison?: 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold' | string;
}

/**
 * What the HPA keeps in memory between syncs, kept in DynamoDB here:
 * past recommendations (for stabilization windows) and past scale events (for rate-limit policies).
 */
export interface BehaviorHistory {
  /** Recommendations, oldest first: epoch ms and the replicas recommended then. */
  readonly recommendations: ReadonlyArray<{ readonly at: number; readonly replicas: number }>;
  /** Scale events, oldest first: epoch ms and the change in replicas (positive out, negative in). */
  readonly events: ReadonlyArray<{ readonly at: number; readonly delta: number }>;
  /** Epoch ms of the last scale-out and scale-in, for stepAdjust cooldowns. */
  readonly lastScaleOutAt?: number;
  readonly lastScaleInAt?: number;
  /**
   * Past readings by metric id, oldest first, for target rules with `scaleDownPeakSeconds`: epoch ms
   * of the evaluation and the value read then. Only real datapoints (never a missing-metric
   * fallback); entries are at least a minute apart (a reading within a minute of the last one is
   * merged into it, keeping the higher value) and older than the longest peak window are dropped,
   * so a metric keeps at most 61 entries. Absent when no rule uses it.
   */
  readonly readings?: Readonly<Record<string, ReadonlyArray<{ readonly at: number; readonly value: number }>>>;
  /**
   * Envelope rules' state by metric id (recent per-interval values and remembered sharp rises,
   * bounded: see shared/engine/envelope.ts). Absent when no rule uses it.
   */
  readonly envelope?: Readonly<Record<string, EnvelopeHistory>>;
}

export const emptyHistory: BehaviorHistory = { recommendations: [], events: [] };

export interface DecisionInput {
  readonly policy: Policy;
  readonly currentReplicas: number;
  /** Readings by metric id; a missing key or `undefined` means no datapoint. */
  readonly metrics: Readonly<Record<string, MetricReading | undefined>>;
  /** Epoch milliseconds of this evaluation. */
  readonly now: number;
  readonly history: BehaviorHistory;
  /** The deployment-wide replica ceiling: no policy or label goes above it. */
  readonly ceiling: number;
  /** Present when an alarm triggered this evaluation. */
  readonly alarm?: AlarmContext;
}

export type Action = 'scaleOut' | 'scaleIn' | 'restart' | 'recreate' | 'none';
export type Status = 'Successful' | 'Failed' | 'DryRun' | 'NotScaled';
export type NotScaledReason =
  | 'AlreadyAtMin'
  | 'AlreadyAtMax'
  | 'AtDesired'
  | 'WithinTolerance'
  | 'Stabilization'
  | 'RateLimited'
  | 'ScalingDisabled'
  | 'Cooldown'
  | 'Suspended'
  | 'MissingMetric'
  | 'AlarmInsufficientData'
  | 'LeaseHeld'
  | 'DuplicateTrigger'
  | 'PolicyDisabled'
  | 'PolicyInvalid'
  | 'OverriddenByPolicy';

export interface Decision {
  /** scaleOut / scaleIn when desiredReplicas differs from currentReplicas, else none. */
  readonly action: 'scaleOut' | 'scaleIn' | 'none';
  readonly currentReplicas: number;
  /** What the rules asked for before behavior and bounds; null when no rule could be evaluated. */
  readonly rawDesired: number | null;
  readonly desiredReplicas: number;
  /** Set when action is none, or when the change was limited (e.g. RateLimited while still scaling). */
  readonly notScaledReason?: NotScaledReason;
  /** One sentence a person can read in the audit: why this number. */
  readonly reason: string;
  /** The history to store for the next evaluation (this recommendation and event appended, old entries pruned). */
  readonly history: BehaviorHistory;
}
