/**
 * The fan-out's Lambda edge, shared by the scheduled dispatcher and the worker: the SQS client and
 * configuration (once per warm container), and a shard run with its log lines and metrics.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { fanoutConfigFromEnvironment, type FanoutConfig } from '../../shared/fanout/config.ts';
import { dispatchTick, type DispatchResult, type Tick } from '../../shared/fanout/dispatcher.ts';
import type { ShardMessage } from '../../shared/fanout/message.ts';
import { SqsShardQueue } from '../../shared/fanout/sqs-queue.ts';
import { runShard, type ShardOutcome } from '../../shared/fanout/worker.ts';
import { defaultRegistry } from '../../shared/plugins/registry.ts';
import { metricNames } from '../../shared/observability/metric-names.ts';
import { emitEvaluationMetrics, getRuntime, logger, metrics } from './runtime.ts';

const getSecret = async (secretId: string): Promise<string> => (await import('../../shared/aws/secrets.ts')).getSecret(secretId);

let fanout: { config: FanoutConfig; queue?: SqsShardQueue } | undefined;

export function getFanout(): { config: FanoutConfig; queue?: SqsShardQueue } {
  if (!fanout) {
    const config = fanoutConfigFromEnvironment();
    fanout = { config, ...(config.queueUrl ? { queue: new SqsShardQueue(undefined, config.queueUrl) } : {}) };
  }
  return fanout;
}

/** For tests that change the environment between invocations. */
export function resetFanout(): void {
  fanout = undefined;
}

/** Evaluates one shard in this process, with its log line and metrics. */
export async function runShardHere(message: ShardMessage, context: Context): Promise<ShardOutcome> {
  const { stores, endpoints, ceiling } = getRuntime();
  const { config } = getFanout();
  const started = Date.now();
  const outcome = await runShard(message, {
    policies: stores.policies,
    stores,
    options: {
      registry: defaultRegistry,
      endpoints,
      ceiling,
      owner: context.awsRequestId,
      getSecret,
      targetTimeoutMs: config.targetTimeoutMs,
      log: (text) => logger.warn(text),
    },
    now: Date.now,
  });
  const shard = { tickId: message.tickId, shard: message.shard + 1, of: message.shards, targets: message.targets.length };
  if (outcome.outcome === 'stale') {
    logger.warn('shard is older than one schedule interval; dropped (the next tick evaluates every target again)', { ...shard, ageMs: outcome.ageMs, intervalMs: message.intervalMs });
    metrics.singleMetric().addMetric(metricNames.staleShards, MetricUnit.Count, 1);
    return outcome;
  }
  const { written, ...summary } = outcome;
  emitEvaluationMetrics(written, Date.now() - started);
  metrics.singleMetric().addMetric(metricNames.tickDurationMs, MetricUnit.Milliseconds, outcome.sinceTickMs);
  logger.info('shard evaluated', { ...shard, ...summary });
  return outcome;
}

/** The scheduled function: shards the tick onto the queue, or evaluates it here when small. */
export async function runTick(tick: Tick, context: Context): Promise<DispatchResult> {
  const { stores } = getRuntime();
  const { config, queue } = getFanout();
  const result = await dispatchTick(tick, {
    index: stores.policies,
    ...(queue ? { queue } : {}),
    sizing: config.sizing,
    inProcessMaxTargets: config.inProcessMaxTargets,
    runInProcess: (message) => runShardHere(message, context),
  });
  metrics.singleMetric().addMetric(metricNames.shards, MetricUnit.Count, result.shards);
  logger.info('tick dispatched', { tickId: tick.id, mode: result.mode, policies: result.policies, targets: result.targets, shards: result.shards });
  return result;
}
