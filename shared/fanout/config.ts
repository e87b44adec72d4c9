/**
 * Fan-out settings, from the functions' environment (set by the CDK stack from `AutoscalerProps`).
 * Every value is validated; an error names the variable, its value and what is allowed.
 */
import { defaultInProcessMaxTargets } from './dispatcher.ts';
import { checkShardSizing, defaultShardSizing, type ShardSizing } from './shards.ts';

/**
 * Per-target time limit inside a worker. The engine's phases (read, metrics, act) can each take
 * it once, so 3 × 30 s stays inside the worker's 2-minute timeout with room for loading and audit.
 */
export const defaultWorkerTargetTimeoutMs = 30_000;
/** A failed shard is visible again after this long (not after the whole visibility timeout). */
export const defaultRetryDelaySeconds = 5;

export interface FanoutConfig {
  /** The shard queue; absent: every tick is evaluated in the scheduled function. */
  readonly queueUrl?: string;
  readonly intervalMs: number;
  readonly inProcessMaxTargets: number;
  readonly sizing: ShardSizing;
  readonly targetTimeoutMs: number;
  readonly retryDelaySeconds: number;
}

export function fanoutConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): FanoutConfig {
  const whole = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}: "${raw}" must be a whole number from ${min} to ${max}`);
    return value;
  };
  const queueUrl = env.SHARD_QUEUE_URL;
  if (queueUrl !== undefined && queueUrl !== '' && !/^https:\/\/[A-Za-z0-9.-]+(:\d+)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/.test(queueUrl)) {
    throw new Error(`SHARD_QUEUE_URL: "${queueUrl}" is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`);
  }
  return {
    ...(queueUrl ? { queueUrl } : {}),
    intervalMs: whole('SCHEDULE_INTERVAL_SECONDS', 60, 60, 86_400) * 1_000,
    inProcessMaxTargets: whole('FANOUT_IN_PROCESS_MAX_TARGETS', defaultInProcessMaxTargets, 0, 1_000),
    sizing: checkShardSizing({
      maxTargetsPerShard: whole('FANOUT_MAX_TARGETS_PER_SHARD', defaultShardSizing.maxTargetsPerShard, 1, 1_000),
      workers: whole('FANOUT_WORKERS', defaultShardSizing.workers, 1, 1_000),
      cloudWatchQueriesPerShard: defaultShardSizing.cloudWatchQueriesPerShard,
    }),
    targetTimeoutMs: whole('FANOUT_TARGET_TIMEOUT_MS', defaultWorkerTargetTimeoutMs, 1_000, 300_000),
    retryDelaySeconds: whole('FANOUT_RETRY_DELAY_SECONDS', defaultRetryDelaySeconds, 0, 900),
  };
}
