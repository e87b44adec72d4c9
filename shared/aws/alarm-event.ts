/**
 * Alarm events as the alarm handler receives them: SNS notifications carrying a CloudWatch alarm
 * message (JSON in Records[].Sns.Message), and EventBridge "CloudWatch Alarm State Change" events
 * (metric and composite alarms). Both become the same `ParsedAlarm`; anything else is rejected with
 * an error naming the field, so the event goes to the dead-letter queue.
 */
// zod/mini: this module is on the alarm handler's cold-start path (see shared/policy/schema.ts).
import * as z from 'zod/mini';
import '../zod-locale.ts';
import type { AlarmContext } from '../engine/types.ts';

export type AlarmState = AlarmContext['state'];

export interface ParsedAlarm {
  /** Idempotency key: the SNS MessageId or the EventBridge event id. */
  readonly triggerId: string;
  readonly alarmName: string;
  readonly state: AlarmState;
  /** Threshold and breaching value, when the alarm has them (a composite alarm does not). */
  readonly context?: AlarmContext;
  readonly reason?: string;
  readonly changedAt?: string;
  readonly via: 'sns' | 'eventbridge';
}

const state = z.enum(['ALARM', 'OK', 'INSUFFICIENT_DATA']);

const snsAlarmMessage = z.looseObject({
  AlarmName: z.string().check(z.minLength(1)),
  NewStateValue: state,
  NewStateReason: z._default(z.string(), ''),
  StateChangeTime: z.optional(z.string()),
  Trigger: z.optional(
    z.looseObject({
      MetricName: z.optional(z.string()),
      Namespace: z.optional(z.string()),
      Statistic: z.optional(z.string()),
      Dimensions: z.optional(z.array(z.looseObject({ name: z.string(), value: z.string() }))),
      Threshold: z.optional(z.number()),
      ComparisonOperator: z.optional(z.string()),
      Metrics: z.optional(z.array(z.looseObject({}))),
    }),
  ),
});

const snsEvent = z.looseObject({
  Records: z
    .array(
      z.looseObject({
        EventSource: z.optional(z.literal('aws:sns')),
        Sns: z.looseObject({ MessageId: z.string().check(z.minLength(1)), Message: z.string().check(z.minLength(1)) }),
      }),
    )
    .check(z.minLength(1)),
});

const eventBridgeEvent = z.looseObject({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  time: z.optional(z.string()),
  detail: z.looseObject({
    alarmName: z.string().check(z.minLength(1)),
    state: z.looseObject({ value: state, reason: z.optional(z.string()), reasonData: z.optional(z.string()), timestamp: z.optional(z.string()) }),
    configuration: z.optional(
      z.looseObject({
        metrics: z.optional(z.array(z.looseObject({}))),
        /** Composite alarms carry an alarm rule instead of metrics. */
        alarmRule: z.optional(z.string()),
        threshold: z.optional(z.number()),
        comparisonOperator: z.optional(z.string()),
      }),
    ),
  }),
});

const reasonData = z.looseObject({
  threshold: z.optional(z.number()),
  /** Oldest to newest. */
  recentDatapoints: z.optional(z.array(z.number())),
  /** Newest first in CloudWatch's output; each with its period's timestamp (no value when missing). */
  evaluatedDatapoints: z.optional(z.array(z.looseObject({ timestamp: z.string(), value: z.optional(z.number()) }))),
});

/**
 * The newest datapoint the alarm evaluated. CloudWatch's reasonData lists `recentDatapoints` oldest
 * to newest and `evaluatedDatapoints` newest first (CloudWatch user guide, "Alarm events and
 * EventBridge", sample events); the evaluated ones carry timestamps, so the newest is chosen by
 * timestamp rather than by either order.
 */
export function newestDatapoint(data: z.output<typeof reasonData>): number | undefined {
  const evaluated = (data.evaluatedDatapoints ?? [])
    .filter((d): d is typeof d & { value: number } => d.value !== undefined)
    .map((d) => ({ at: Date.parse(d.timestamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')), value: d.value }))
    .filter((d) => Number.isFinite(d.at))
    .sort((a, b) => b.at - a.at)[0];
  return evaluated?.value ?? data.recentDatapoints?.at(-1);
}

/** Describes the first zod issue as `path: message`. */
function firstIssue(error: z.core.$ZodError, prefix: string): string {
  const issue = error.issues[0]!;
  return `${prefix}${issue.path.join('.') || '(top)'}: ${issue.message}`;
}

/** A number token; it cannot fail once started, so a global scan with it never backtracks. */
const numberToken = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;
/** Whitespace then "(" right where a number token ended (sticky: tried at one position only). */
const datapointTimeAfter = /\s*\(/y;

/**
 * The breaching datapoint of an SNS NewStateReason: "... [12.3 (23/11/26 14:00:00), 10.0 (...)] ...":
 * the first number token, inside the first [...] list, that is followed by "(" (its timestamp).
 *
 * Linear in the reason's length (SNS allows 256 KB): the list is found with indexOf, and each
 * number token and the whitespace after it is read once. The earlier regular expressions were
 * retried from every position of a long digit run or "[" run, which is quadratic (80 KB: 8.3 s).
 */
export function valueFromReason(reason: string): number | undefined {
  const open = reason.indexOf('[');
  if (open < 0) return undefined;
  const close = reason.indexOf(']', open + 1);
  if (close < 0) return undefined;
  const list = reason.slice(open + 1, close);
  numberToken.lastIndex = 0;
  for (let token = numberToken.exec(list); token !== null; token = numberToken.exec(list)) {
    datapointTimeAfter.lastIndex = numberToken.lastIndex;
    if (datapointTimeAfter.test(list)) return Number(token[0]);
  }
  return undefined;
}

function contextOf(name: string, alarmState: AlarmState, threshold: number | undefined, value: number | undefined, comparison: string | undefined): AlarmContext | undefined {
  if (threshold === undefined) return undefined;
  // INSUFFICIENT_DATA has no datapoint: the threshold stands in, and the engine acts on nothing.
  const v = value ?? (alarmState === 'INSUFFICIENT_DATA' ? threshold : undefined);
  if (v === undefined) return undefined;
  return { name, state: alarmState, threshold, value: v, ...(comparison ? { comparison } : {}) };
}

/** Parses one alarm event; throws `invalid alarm event: <field>: <problem>` for anything else. */
export function parseAlarmEvent(event: unknown): ParsedAlarm[] {
  const bridge = eventBridgeEvent.safeParse(event);
  if (bridge.success) {
    const { detail } = bridge.data;
    let data: z.output<typeof reasonData> = {};
    if (detail.state.reasonData) {
      let json: unknown;
      try {
        json = JSON.parse(detail.state.reasonData);
      } catch {
        throw new Error('invalid alarm event: detail.state.reasonData: not JSON');
      }
      const parsed = reasonData.safeParse(json);
      if (!parsed.success) throw new Error(firstIssue(parsed.error, 'invalid alarm event: detail.state.reasonData.'));
      data = parsed.data;
    }
    const threshold = data.threshold ?? detail.configuration?.threshold;
    const value = newestDatapoint(data) ?? valueFromReason(detail.state.reason ?? '');
    const context = contextOf(detail.alarmName, detail.state.value, threshold, value, detail.configuration?.comparisonOperator);
    return [
      {
        triggerId: bridge.data.id,
        alarmName: detail.alarmName,
        state: detail.state.value,
        ...(context ? { context } : {}),
        ...(detail.state.reason ? { reason: detail.state.reason } : {}),
        ...(detail.state.timestamp ?? bridge.data.time ? { changedAt: detail.state.timestamp ?? bridge.data.time } : {}),
        via: 'eventbridge',
      },
    ];
  }
  const sns = snsEvent.safeParse(event);
  if (!sns.success) {
    const looksSns = typeof event === 'object' && event !== null && 'Records' in event;
    throw new Error(
      looksSns
        ? firstIssue(sns.error, 'invalid alarm event: ')
        : `invalid alarm event: expected an SNS event (Records[].Sns) or an EventBridge "CloudWatch Alarm State Change" event; ${firstIssue(bridge.error, '')}`,
    );
  }
  return sns.data.Records.map((record, i) => {
    let json: unknown;
    try {
      json = JSON.parse(record.Sns.Message);
    } catch {
      throw new Error(`invalid alarm event: Records.${i}.Sns.Message: not JSON (expected a CloudWatch alarm notification)`);
    }
    const message = snsAlarmMessage.safeParse(json);
    if (!message.success) throw new Error(firstIssue(message.error, `invalid alarm event: Records.${i}.Sns.Message.`));
    const m = message.data;
    const context = contextOf(m.AlarmName, m.NewStateValue, m.Trigger?.Threshold, valueFromReason(m.NewStateReason), m.Trigger?.ComparisonOperator);
    return {
      triggerId: record.Sns.MessageId,
      alarmName: m.AlarmName,
      state: m.NewStateValue,
      ...(context ? { context } : {}),
      ...(m.NewStateReason ? { reason: m.NewStateReason } : {}),
      ...(m.StateChangeTime ? { changedAt: m.StateChangeTime } : {}),
      via: 'sns' as const,
    };
  });
}
