/** The shard queue on SQS, against aws-sdk-client-mock (no SQS implementation runs here). */
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShardMessage } from '../../shared/fanout/message.ts';
import { parseShardMessage } from '../../shared/fanout/message.ts';
import { SqsShardQueue } from '../../shared/fanout/sqs-queue.ts';

const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/shards';
const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());
const noWait = async () => undefined;

function messages(count: number): ShardMessage[] {
  return Array.from({ length: count }, (_, i) => ({ tickId: 'tick-1', tickAt: 1_000, intervalMs: 60_000, shard: i, shards: count, targets: [`docker/h/s${i}`], policies: [{ id: `p${i}`, version: 1 }] }));
}

describe('SqsShardQueue (aws-sdk-client-mock SQS)', () => {
  it('sends 10 shards per SendMessageBatch call, each body a valid shard message with the tick id', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })), Failed: [] }));
    await new SqsShardQueue(new SQSClient({ region: 'eu-west-1' }), queueUrl, noWait).send(messages(23));
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 3]);
    const bodies = calls.flatMap((c) => c.args[0].input.Entries!.map((e) => parseShardMessage(e.MessageBody!)));
    expect(bodies.map((b) => b.shard)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(new Set(bodies.map((b) => b.tickId))).toEqual(new Set(['tick-1']));
    expect(calls.every((c) => c.args[0].input.QueueUrl === queueUrl)).toBe(true);
  });

  it('sends again only the entries SQS reported failed, and gives up on a sender fault at once', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [{ Id: 'shard-0', MessageId: 'a', MD5OfMessageBody: 'x' }], Failed: [{ Id: 'shard-1', Code: 'InternalError', SenderFault: false }, { Id: 'shard-2', Code: 'InvalidMessageContents', SenderFault: true }] })
      .resolves({ Successful: [{ Id: 'shard-1', MessageId: 'b', MD5OfMessageBody: 'x' }], Failed: [] });
    const sending = new SqsShardQueue(new SQSClient({ region: 'eu-west-1' }), queueUrl, noWait).send(messages(3));
    await expect(sending).rejects.toThrow(/not sent after 4 attempts: shard-2/);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Entries!.map((e) => e.Id)).toEqual(['shard-1']);
  });

  it('makes a failed shard visible again after a few seconds', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await new SqsShardQueue(new SQSClient({ region: 'eu-west-1' }), queueUrl, noWait).makeVisibleSoon('receipt-1', 5);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]!.args[0].input).toEqual({ QueueUrl: queueUrl, ReceiptHandle: 'receipt-1', VisibilityTimeout: 5 });
  });
});

describe('parseShardMessage', () => {
  it('names the field, the value and what is allowed', () => {
    const good = JSON.stringify(messages(1)[0]);
    expect(parseShardMessage(good).tickId).toBe('tick-1');
    expect(() => parseShardMessage(good.replace('"intervalMs":60000', '"intervalMs":5'))).toThrow(/shard message: intervalMs: 5: .*1000/);
    expect(() => parseShardMessage('{"tickId": 3')).toThrow('shard message: not JSON');
  });
});

describe('fanoutConfigFromEnvironment', () => {
  it('has the documented defaults and names the variable, the value and what is allowed', async () => {
    const { fanoutConfigFromEnvironment } = await import('../../shared/fanout/config.ts');
    expect(fanoutConfigFromEnvironment({})).toEqual({
      intervalMs: 60_000,
      inProcessMaxTargets: 200,
      sizing: { maxTargetsPerShard: 100, workers: 50, cloudWatchQueriesPerShard: 500 },
      targetTimeoutMs: 30_000,
      retryDelaySeconds: 5,
    });
    expect(fanoutConfigFromEnvironment({ SHARD_QUEUE_URL: queueUrl }).queueUrl).toBe(queueUrl);
    expect(() => fanoutConfigFromEnvironment({ FANOUT_WORKERS: '0' })).toThrow('FANOUT_WORKERS: "0" must be a whole number from 1 to 1000');
    expect(() => fanoutConfigFromEnvironment({ SHARD_QUEUE_URL: 'http://evil.example/q' })).toThrow(/SHARD_QUEUE_URL: "http:\/\/evil.example\/q" is not an SQS queue URL/);
  });
});
