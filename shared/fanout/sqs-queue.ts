/**
 * The shard queue on Amazon SQS: `SendMessageBatch`, 10 messages per call (SQS's limit), entries
 * that SQS reports as failed sent again with backoff. The worker side uses `makeVisibleSoon` to
 * hand a failed shard back to the queue in seconds instead of after the whole visibility timeout.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { lazyLibrary } from '../plugins/lazy.ts';
import type { ShardQueue } from './dispatcher.ts';
import type { ShardMessage } from './message.ts';

// Loaded on first use: a deployment small enough to evaluate in-process never sends a shard, and
// the alarm function never does.
const sqsLibrary = lazyLibrary('sqsClient', () => import('@aws-sdk/client-sqs'));

export const sendMessageBatchLimit = 10;
const sendAttempts = 4;

export class SqsShardQueue implements ShardQueue {
  #client: SQSClient | undefined;
  readonly queueUrl: string;
  readonly #sleep: (ms: number) => Promise<void>;

  /** `client` undefined: one is made on the first send, with the SDK loaded then. */
  constructor(client: SQSClient | undefined, queueUrl: string, sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
    this.#client = client;
    this.queueUrl = queueUrl;
    this.#sleep = sleep;
  }

  async send(messages: readonly ShardMessage[]): Promise<void> {
    const { SendMessageBatchCommand } = await sqsLibrary();
    const client = await this.#sqs();
    const unsent: string[] = [];
    for (let i = 0; i < messages.length; i += sendMessageBatchLimit) {
      let entries = messages.slice(i, i + sendMessageBatchLimit).map((m) => ({ Id: `shard-${m.shard}`, MessageBody: JSON.stringify(m) }));
      const problems: string[] = [];
      for (let attempt = 0; entries.length > 0 && attempt < sendAttempts; attempt++) {
        if (attempt > 0) await this.#sleep(100 * 2 ** attempt);
        try {
          const result = await client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
          const failed = result.Failed ?? [];
          // A sender fault (a malformed entry) would fail the same way again: given up at once.
          for (const f of failed.filter((f) => f.SenderFault)) {
            unsent.push(f.Id ?? '?');
            problems.push(`${f.Id}: ${f.Code ?? ''} ${f.Message ?? ''}`.trim());
          }
          const retry = new Set(failed.filter((f) => !f.SenderFault).map((f) => f.Id));
          entries = entries.filter((e) => retry.has(e.Id));
          if (entries.length > 0) problems.push(...failed.filter((f) => !f.SenderFault).map((f) => `${f.Id}: ${f.Code ?? ''}`.trim()));
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      unsent.push(...entries.map((e) => e.Id));
      if (unsent.length > 0 && problems.length > 0) unsent.push(`(last: ${problems.at(-1)})`);
    }
    if (unsent.length > 0) throw new Error(`SendMessageBatch to ${this.queueUrl}: not sent after ${sendAttempts} attempts: ${unsent.join(', ')}`);
  }

  /** Makes a received message visible again after `seconds` (0–43 200). */
  async makeVisibleSoon(receiptHandle: string, seconds: number): Promise<void> {
    const { ChangeMessageVisibilityCommand } = await sqsLibrary();
    await (await this.#sqs()).send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  async #sqs(): Promise<SQSClient> {
    this.#client ??= new (await sqsLibrary()).SQSClient({});
    return this.#client;
  }
}
