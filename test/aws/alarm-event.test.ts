import { describe, expect, it } from 'vitest';
import { newestDatapoint, parseAlarmEvent, valueFromReason } from '../../shared/aws/alarm-event.ts';
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

  it('regression: an EventBridge alarm over 3 periods acts on the newest datapoint, not recentDatapoints[0] (the oldest)', () => {
    // Prepare: a "CloudWatch Alarm State Change" event in the format of the CloudWatch user guide's
    // sample events (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html):
    // reasonData is a JSON string; recentDatapoints run oldest to newest, evaluatedDatapoints newest
    // first with their period timestamps; the reason text lists the newest first.
    const reasonData = {
      version: '1.0',
      queryDate: '2026-12-01T12:03:05.123+0000',
      startDate: '2026-12-01T12:00:00.000+0000',
      statistic: 'Sum',
      period: 60,
      recentDatapoints: [510.0, 760.0, 1450.0],
      threshold: 500.0,
      evaluatedDatapoints: [
        { timestamp: '2026-12-01T12:02:00.000+0000', sampleCount: 60.0, value: 1450.0 },
        { timestamp: '2026-12-01T12:01:00.000+0000', sampleCount: 60.0, value: 760.0 },
        { timestamp: '2026-12-01T12:00:00.000+0000', sampleCount: 60.0, value: 510.0 },
      ],
    };
    const event = {
      version: '0', id: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92', 'detail-type': 'CloudWatch Alarm State Change', source: 'aws.cloudwatch',
      account: '123456789012', time: '2026-12-01T12:03:05Z', region: 'eu-west-1', resources: ['arn:aws:cloudwatch:eu-west-1:123456789012:alarm:queue-high'],
      detail: {
        alarmName: 'queue-high',
        state: {
          value: 'ALARM',
          reason: 'Threshold Crossed: 3 out of the last 3 datapoints [1450.0 (01/12/26 12:02:00), 760.0 (01/12/26 12:01:00), 510.0 (01/12/26 12:00:00)] were greater than or equal to the threshold (500.0) (minimum 3 datapoints for OK -> ALARM transition).',
          reasonData: JSON.stringify(reasonData),
          timestamp: '2026-12-01T12:03:05.125+0000',
        },
        previousState: { value: 'OK', reason: 'Threshold Crossed', timestamp: '2026-12-01T11:58:05.125+0000' },
        configuration: {
          metrics: [{ id: 'a1b2', metricStat: { metric: { namespace: 'App', name: 'Jobs', dimensions: { Queue: 'q' } }, period: 60, stat: 'Sum' }, returnData: true }],
          threshold: 500, comparisonOperator: 'GreaterThanOrEqualToThreshold', evaluationPeriods: 3, datapointsToAlarm: 3,
        },
      },
    };
    // Act
    const [alarm] = parseAlarmEvent(event);
    // Assess: the same value the SNS path reads from the reason text
    expect(alarm!.context).toEqual({ name: 'queue-high', state: 'ALARM', threshold: 500, value: 1450, comparison: 'GreaterThanOrEqualToThreshold' });
    expect(valueFromReason(event.detail.state.reason)).toBe(1450);
  });

  it('newestDatapoint: by timestamp among evaluatedDatapoints (skipping missing ones), else the last of recentDatapoints', () => {
    // Prepare / Act / Assess
    expect(newestDatapoint({ evaluatedDatapoints: [{ timestamp: '2026-12-01T12:01:00.000+0000' }, { timestamp: '2026-12-01T12:00:00.000+0000', value: 3 }] })).toBe(3);
    expect(newestDatapoint({ recentDatapoints: [1, 2, 7] })).toBe(7);
    expect(newestDatapoint({ recentDatapoints: [] })).toBeUndefined();
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

  it('defect 10: NewStateReason parsing is linear: 256 KB reasons (SNS maximum) of the shapes that were quadratic, same answers', () => {
    // Prepare: a long digit run before the real datapoint, and a long "[" run never closed (so no
    // list, no value); the old regular expressions retried from every position of such a run (80 KB
    // took 8.3 s). bench/alarm-reason.bench.ts has the timings side by side.
    const datapoint = ' 7.5 (23/11/26 14:00:00), 6.0 (23/11/26 13:59:00)]';
    const digitRun = (bytes: number) => `Threshold Crossed: 1 datapoint [${'1'.repeat(bytes)}${datapoint} was greater than the threshold (5.0).`;
    const bracketRun = (bytes: number) => `Threshold Crossed: 1 datapoint ${'['.repeat(bytes)} 7.5 (23/11/26 14:00:00) was greater than the threshold (5.0).`;
    const shapes = [digitRun, bracketRun];
    const small = 16 * 1024;
    const large = 256 * 1024;
    /** Fastest of a few runs, in ms: the least disturbed by other processes on a shared machine. */
    const fastest = (reason: string) => {
      let best = Infinity;
      for (let run = 0; run < 20; run++) {
        const started = performance.now();
        valueFromReason(reason);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };

    // Act
    const answers = shapes.map((shape) => valueFromReason(shape(large)));
    const growth = shapes.map((shape) => fastest(shape(large)) / Math.max(fastest(shape(small)), 0.001));
    const event = snsAlarmEvent('msg-long', 'ALARM');
    const record = event.Records[0]!;
    record.Sns.Message = JSON.stringify({ ...JSON.parse(record.Sns.Message), NewStateReason: digitRun(large) });
    const [viaSns] = parseAlarmEvent(event);

    // Assess: 16x the input costs about 16x the time when linear (256x when quadratic); 64x
    // leaves room for a loaded machine without letting a quadratic parser through.
    expect(answers).toEqual([7.5, undefined]);
    for (const factor of growth) expect(factor).toBeLessThan(64);
    expect(viaSns!.context).toMatchObject({ threshold: 500, value: 7.5 });
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
