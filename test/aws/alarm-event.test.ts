import { describe, expect, it } from 'vitest';
import { parseAlarmEvent, valueFromReason } from '../../shared/aws/alarm-event.ts';
import { ceilingFromEnvironment, endpointsFromLambdaEnvironment } from '../../shared/aws/environment.ts';
import { eventBridgeAlarmEvent, snsAlarmEvent } from '../functions/scenario.ts';

describe('alarm events', () => {
  it('reads an SNS alarm notification: name, state, threshold, breaching value, MessageId', () => {
    // Prepare
    const event = snsAlarmEvent('msg-1', 'ALARM', 'api-high', 812);
    // Act
    const [alarm] = parseAlarmEvent(event);
    // Assess
    expect(alarm).toMatchObject({
      triggerId: 'msg-1', alarmName: 'api-high', state: 'ALARM', via: 'sns',
      context: { name: 'api-high', state: 'ALARM', threshold: 500, value: 812, comparison: 'GreaterThanOrEqualToThreshold' },
    });
  });

  it('reads an EventBridge alarm state change from reasonData', () => {
    // Prepare
    const event = eventBridgeAlarmEvent('eb-9', 'OK', 120);
    // Act
    const [alarm] = parseAlarmEvent(event);
    // Assess
    expect(alarm).toMatchObject({ triggerId: 'eb-9', state: 'OK', via: 'eventbridge', context: { threshold: 500, value: 120 } });
  });

  it('accepts a composite alarm (no threshold, so no alarm context)', () => {
    // Prepare
    const event = {
      id: 'eb-c', source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'api-composite', state: { value: 'ALARM', reason: 'arn:…:alarm:api-high transitioned to ALARM' }, configuration: { alarmRule: 'ALARM(api-high) AND ALARM(api-latency)' } },
    };
    // Act
    const [alarm] = parseAlarmEvent(event);
    // Assess
    expect(alarm).toMatchObject({ alarmName: 'api-composite', state: 'ALARM' });
    expect(alarm!.context).toBeUndefined();
  });

  it('takes the newest datapoint from a NewStateReason list', () => {
    // Prepare / Act / Assess
    expect(valueFromReason('Threshold Crossed: 2 out of the last 2 datapoints [12.3 (23/11/26 14:01:00), 9.5 (23/11/26 14:00:00)] were …')).toBe(12.3);
    expect(valueFromReason('Insufficient Data')).toBeUndefined();
  });

  it('rejects events that are neither, naming the field', () => {
    // Prepare
    const missingMessageId = { Records: [{ Sns: { Message: '{}' } }] };
    const badReasonData = { ...eventBridgeAlarmEvent('x', 'ALARM'), detail: { alarmName: 'a', state: { value: 'ALARM', reasonData: '{"threshold":"high"}' } } };
    // Act / Assess
    expect(() => parseAlarmEvent(missingMessageId)).toThrow(/invalid alarm event: Records\.0\.Sns\.MessageId/);
    expect(() => parseAlarmEvent(badReasonData)).toThrow(/detail\.state\.reasonData\.threshold/);
    expect(() => parseAlarmEvent(null)).toThrow(/expected an SNS event/);
  });
});

describe('function environment', () => {
  it('reads AUTOSCALER_ENDPOINTS and AUTOSCALER_CEILING, rejecting bad values by name', () => {
    // Prepare
    const env = { AUTOSCALER_ENDPOINTS: JSON.stringify({ kubernetes: { prod: { eks: { name: 'prod', region: 'eu-west-1' } } } }), AUTOSCALER_CEILING: '40' };
    // Act
    const endpoints = endpointsFromLambdaEnvironment(env);
    // Assess
    expect(endpoints.kubernetes.prod).toEqual({ eks: { name: 'prod', region: 'eu-west-1' } });
    expect(ceilingFromEnvironment(env)).toBe(40);
    expect(ceilingFromEnvironment({})).toBe(100);
    expect(() => ceilingFromEnvironment({ AUTOSCALER_CEILING: '2.5' })).toThrow(/AUTOSCALER_CEILING: "2.5"/);
    expect(() => endpointsFromLambdaEnvironment({ AUTOSCALER_ENDPOINTS: '{"docker":{"a":{"host":"http://x"}}}' })).toThrow(/AUTOSCALER_ENDPOINTS: docker\.a/);
    expect(() => endpointsFromLambdaEnvironment({ AUTOSCALER_ENDPOINTS: '{' })).toThrow(/AUTOSCALER_ENDPOINTS: not JSON/);
  });
});
