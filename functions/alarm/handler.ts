/**
 * Alarm handler: an SNS notification of a CloudWatch alarm, or the EventBridge "CloudWatch Alarm
 * State Change" event. ALARM and OK evaluate the policies bound to the alarm (OK may allow scale-in,
 * never forces it: the engine decides); INSUFFICIENT_DATA acts on nothing and is audited. A malformed
 * event throws, so it lands in the dead-letter queue.
 */
import type { Context } from 'aws-lambda';
import { parseAlarmEvent } from '../../shared/aws/alarm-event.ts';
import { policiesForTrigger } from '../../shared/evaluate/policies.ts';
import type { EvaluationTrigger } from '../../shared/evaluate/types.ts';
import { auditNotActed, getRuntime, logger, runTrigger, withTelemetry, type EvaluationSummary } from '../common/runtime.ts';

export interface AlarmResult extends EvaluationSummary {
  readonly alarmName: string;
  readonly state: string;
}

export const handler = async (event: unknown, context: Context): Promise<AlarmResult[]> => {
  const firstId = (event as { Records?: Array<{ Sns?: { MessageId?: string } }>; id?: string })?.Records?.[0]?.Sns?.MessageId ?? (event as { id?: string })?.id;
  return withTelemetry(context, typeof firstId === 'string' ? firstId : undefined, async () => {
    const alarms = parseAlarmEvent(event);
    const results: AlarmResult[] = [];
    for (const alarm of alarms) {
      const trigger: EvaluationTrigger = {
        type: 'alarm',
        id: alarm.triggerId,
        ...(alarm.via === 'sns' ? { messageId: alarm.triggerId } : {}),
        alarmName: alarm.alarmName,
        alarmState: alarm.state,
        ...(alarm.context ? { alarm: alarm.context } : {}),
      };
      const policies = await policiesForTrigger(trigger, getRuntime().stores.policies);
      if (policies.length === 0) {
        logger.warn('alarm is bound to no policy; ignored', { alarmName: alarm.alarmName, state: alarm.state });
        results.push({ alarmName: alarm.alarmName, state: alarm.state, policies: 0, records: 0, actions: 0, failures: 0 });
        continue;
      }
      if (alarm.state === 'INSUFFICIENT_DATA') {
        const records = await auditNotActed(policies, trigger, `alarm ${alarm.alarmName} has insufficient data: nothing acts${alarm.reason ? ` (${alarm.reason})` : ''}`);
        logger.info('alarm has insufficient data; audited, nothing acts', { alarmName: alarm.alarmName, policies: policies.length });
        results.push({ alarmName: alarm.alarmName, state: alarm.state, policies: policies.length, records: records.length, actions: 0, failures: 0 });
        continue;
      }
      const summary = await runTrigger(trigger, context, policies);
      results.push({ alarmName: alarm.alarmName, state: alarm.state, ...summary });
    }
    return results;
  });
};
