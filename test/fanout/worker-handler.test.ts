/**
 * The worker Lambda handler end to end: SQS events (the shape Lambda delivers), Powertools'
 * partial batch response, dynalite (real) for the tables, the local fake Kubernetes API and
 * CloudWatch endpoints of the handler tests, and aws-sdk-client-mock for SQS (no SQS runs here).
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ShardMessage } from '../../shared/fanout/message.ts';
import { targetKey } from '../../shared/policy/schema.ts';
import { alarmPolicy, lambdaContext, queuePolicy, seed, startScenario, type Scenario } from '../functions/scenario.ts';

const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/autoscaler-shards';
const sqs = mockClient(SQSClient);
let scenario: Scenario;
let handler: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;
let runtime: typeof import('../../functions/common/runtime.ts');
const queueTarget = targetKey(queuePolicy.target);
const apiTarget = targetKey(alarmPolicy.target);

beforeAll(async () => {
  scenario = await startScenario();
  process.env.SHARD_QUEUE_URL = queueUrl;
  process.env.FANOUT_RETRY_DELAY_SECONDS = '5';
  runtime = await import('../../functions/common/runtime.ts');
  (await import('../../functions/common/fanout.ts')).resetFanout();
  handler = (await import('../../functions/worker/handler.ts')).handler as typeof handler;
});
afterAll(async () => {
  delete process.env.SHARD_QUEUE_URL;
  delete process.env.FANOUT_RETRY_DELAY_SECONDS;
  (await import('../../functions/common/fanout.ts')).resetFanout();
  runtime.resetRuntime();
  await scenario.close();
});
beforeEach(async () => {
  sqs.reset();
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  await seed(scenario);
});

function shard(tickId: string, index: number, policy: typeof queuePolicy, at = Date.now()): ShardMessage {
  return { tickId, tickAt: at, intervalMs: 60_000, shard: index, shards: 2, targets: [targetKey(policy.target)], policies: [{ id: policy.id, version: 1 }] };
}

function record(messageId: string, message: ShardMessage): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body: JSON.stringify(message),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(message.tickAt), SenderId: 'AROAEXAMPLE', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: 'x',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:autoscaler-shards',
    awsRegion: 'us-east-1',
  };
}

const auditCount = async (target: string, tickId: string) => (await scenario.stores.audit.list({ target })).filter((r) => (r.trigger as { id?: string }).id === tickId).length;

describe('worker handler (SQS event, Powertools partial batch response; SQS via aws-sdk-client-mock)', () => {
  it('a shard whose audit write fails is the only one reported, is made visible again in seconds, and its retry acts once', async () => {
    // Prepare: the audit table refuses records of the api target (a DynamoDB failure on one shard).
    const audit = runtime.getRuntime().stores.audit;
    const realPut = audit.put.bind(audit);
    audit.put = async (r) => {
      if (r.target === apiTarget) throw new Error('ProvisionedThroughputExceededException');
      return realPut(r);
    };
    const tick = `tick-${Date.now()}`;
    const event: SQSEvent = { Records: [record('good', shard(tick, 0, queuePolicy)), record('bad', shard(tick, 1, alarmPolicy))] };
    try {
      // Act
      const response = await handler(event, lambdaContext('worker-1'));
      // Assess: only the failed shard goes back, quickly.
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
      const visibility = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
      expect(visibility).toEqual([{ QueueUrl: queueUrl, ReceiptHandle: 'receipt-bad', VisibilityTimeout: 5 }]);
      expect(await auditCount(queueTarget, tick)).toBe(1);
    } finally {
      audit.put = realPut;
    }
    // Act: SQS delivers only the failed shard again.
    const retry = await handler({ Records: [record('bad', shard(tick, 1, alarmPolicy))] }, lambdaContext('worker-2'));
    // Assess: it succeeds now; the good shard's target was not evaluated again.
    expect(retry.batchItemFailures).toEqual([]);
    expect(await auditCount(apiTarget, tick)).toBe(1);
    expect(await auditCount(queueTarget, tick)).toBe(1);
  });

  it('drops a shard older than one schedule interval without evaluating it or failing it', async () => {
    const tick = `stale-${Date.now()}`;
    const response = await handler({ Records: [record('old', shard(tick, 0, queuePolicy, Date.now() - 61_000))] }, lambdaContext('worker-3'));
    expect(response.batchItemFailures).toEqual([]);
    expect(await auditCount(queueTarget, tick)).toBe(0);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toEqual([]);
  });

  it('reports a malformed message as failed without shortening its visibility (it goes to the DLQ after its receives)', async () => {
    const bad = { ...record('junk', shard('t', 0, queuePolicy)), body: '{"tickId":' };
    const response = await handler({ Records: [bad] }, lambdaContext('worker-4'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'junk' }]);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toEqual([]);
  });
});
