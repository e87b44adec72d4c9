import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext, scheduledEvent, seed, snsAlarmEvent, eventBridgeAlarmEvent, startScenario, type Scenario } from './scenario.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<any>;
let scenario: Scenario;
let evaluateHandler: Handler;
let alarmHandler: Handler;

beforeAll(async () => {
  scenario = await startScenario();
  // Imported after the environment is set, as Lambda would.
  evaluateHandler = (await import('../../functions/evaluate/handler.ts')).handler;
  alarmHandler = (await import('../../functions/alarm/handler.ts')).handler;
});
afterAll(async () => {
  (await import('../../functions/common/runtime.ts')).resetRuntime();
  await scenario.close();
});
beforeEach(async () => seed(scenario));

describe('handlers (dynalite; CloudWatch: local fake JSON endpoint; local fake Kubernetes API server)', () => {
  it('evaluate: a schedule tick scales the queue workers and writes the audit record', async () => {
    // Prepare: 500 queued at 100 per replica, 2 replicas now
    // Act
    const summary = await evaluateHandler(scheduledEvent('tick-1'), lambdaContext('req-1'));
    // Assess
    expect(summary).toMatchObject({ policies: 2, actions: 1, failures: 0 });
    expect(scenario.kubernetes.objects.get('workers/deployments/sidekiq')!.replicas).toBe(5);
    expect(scenario.kubernetes.objects.get('web/deployments/api')!.replicas).toBe(3);
    expect(scenario.cloudWatch.calls).toContain(2);
  });

  it('alarm (SNS): ALARM scales the bound policy by the breach size, once per MessageId', async () => {
    // Prepare: value 750 vs threshold 500 → +2
    const event = snsAlarmEvent('msg-alarm-1', 'ALARM');
    // Act
    const first = await alarmHandler(event, lambdaContext('req-2'));
    scenario.kubernetes.objects.get('web/deployments/api')!.replicas = 3;
    const again = await alarmHandler(event, lambdaContext('req-3'));
    // Assess
    expect(first).toEqual([expect.objectContaining({ alarmName: 'api-high', state: 'ALARM', policies: 1, actions: 1 })]);
    expect(again[0]).toMatchObject({ actions: 0 });
    expect(scenario.kubernetes.objects.get('web/deployments/api')!.replicas).toBe(3);
  });

  it('alarm (EventBridge): the breaching value comes from reasonData', async () => {
    // Prepare: value 600 vs threshold 500 (the scale-out of the test before may still hold a cooldown)
    const event = eventBridgeAlarmEvent('eb-1', 'ALARM', 600);
    // Act
    const result = await alarmHandler(event, lambdaContext('req-4'));
    // Assess
    expect(result[0]).toMatchObject({ alarmName: 'api-high', state: 'ALARM', policies: 1, records: 1 });
    const [record] = await scenario.stores.audit.list({ policyId: 'api-alarm', limit: 1 });
    expect(record!.trigger).toMatchObject({ type: 'alarm', id: 'eb-1', alarmName: 'api-high', alarmState: 'ALARM' });
    expect(record!.reason).toMatch(/value 600 vs threshold 500/);
  });

  it('alarm: INSUFFICIENT_DATA acts on nothing and is audited', async () => {
    // Prepare
    const event = snsAlarmEvent('msg-insufficient', 'INSUFFICIENT_DATA');
    // Act
    const result = await alarmHandler(event, lambdaContext('req-5'));
    // Assess
    expect(result[0]).toMatchObject({ state: 'INSUFFICIENT_DATA', records: 1, actions: 0 });
    expect(scenario.kubernetes.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(2);
    const records = await scenario.stores.audit.list({ policyId: 'api-alarm', limit: 1 });
    expect(records[0]).toMatchObject({ status: 'NotScaled', notScaledReason: 'AlarmInsufficientData', action: 'none', trigger: { alarmState: 'INSUFFICIENT_DATA', messageId: 'msg-insufficient' } });
  });

  it('alarm: an alarm bound to no policy is ignored', async () => {
    // Prepare
    const event = snsAlarmEvent('msg-unbound', 'ALARM', 'nobody-listens');
    // Act
    const result = await alarmHandler(event, lambdaContext('req-6'));
    // Assess
    expect(result).toEqual([expect.objectContaining({ alarmName: 'nobody-listens', policies: 0, records: 0 })]);
  });

  it('alarm: a malformed event throws an error naming the field (→ DLQ)', async () => {
    // Prepare
    const event = { Records: [{ Sns: { MessageId: 'm', Message: JSON.stringify({ AlarmName: 'x', NewStateValue: 'BROKEN' }) } }] };
    // Act
    const attempt = alarmHandler(event, lambdaContext('req-7'));
    // Assess
    await expect(attempt).rejects.toThrow(/invalid alarm event: Records\.0\.Sns\.Message\.NewStateValue/);
    await expect(alarmHandler({ hello: 'world' }, lambdaContext('req-8'))).rejects.toThrow(/expected an SNS event/);
  });
});
