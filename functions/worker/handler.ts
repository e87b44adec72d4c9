/**
 * Worker: the shard queue's event source (SQS, `ReportBatchItemFailures`). Each message is one
 * shard of a schedule tick (shared/fanout/message.ts); each is evaluated on its own, in parallel,
 * by shared/fanout/worker.ts. Powertools' Batch utility reports the shards that failed, so SQS
 * delivers only those again; before that, a failed shard's visibility is cut to a few seconds, so
 * its retry still falls inside the tick instead of after the whole visibility timeout. A message
 * older than one schedule interval is dropped as stale (a log line and the StaleShards metric).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseShardMessage } from '../../shared/fanout/message.ts';
import { getFanout, runShardHere } from '../common/fanout.ts';
import { logger, withTelemetry } from '../common/runtime.ts';

const processor = new BatchProcessor(EventType.SQS);

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  withTelemetry(context, event.Records?.[0]?.messageId, () =>
    processPartialResponse(event, (record: SQSRecord) => evaluateRecord(record, context), processor, {
      context,
      processInParallel: true,
      // A batch whose every shard failed is still answered with its failures, not an invocation error:
      // the failed shards are already on their way back (visibility cut), nothing else needs retrying.
      throwOnFullBatchFailure: false,
    }),
  );

async function evaluateRecord(record: SQSRecord, context: Context): Promise<void> {
  // A malformed message fails the same way every time: no quick retry, it goes to the DLQ.
  const message = parseShardMessage(record.body);
  try {
    await runShardHere(message, context);
  } catch (error) {
    const { config, queue } = getFanout();
    logger.error('shard failed; delivering it again soon', { tickId: message.tickId, shard: message.shard + 1, of: message.shards, messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount, error: (error as Error).message });
    try {
      await queue?.makeVisibleSoon(record.receiptHandle, config.retryDelaySeconds);
    } catch (visibilityError) {
      logger.warn('could not shorten the failed shard\'s visibility; it returns after the visibility timeout', { error: (visibilityError as Error).message });
    }
    throw error;
  }
}
