/**
 * Scheduled evaluation: every tick of the EventBridge schedule evaluates all enabled policies.
 * Also accepts a manual invocation (`{}` or `{"trigger":"manual"}`); the EventBridge event id (or
 * the Lambda request id) is the trigger id, so a retried tick acts at most once per target.
 */
import type { Context } from 'aws-lambda';
// zod/mini: smaller and quicker to load at a cold start than classic zod.
import * as z from 'zod/mini';
import '../../shared/zod-locale.ts';
import type { EvaluationTrigger } from '../../shared/evaluate/types.ts';
import { runTrigger, withTelemetry, type EvaluationSummary } from '../common/runtime.ts';

const scheduledEvent = z.looseObject({ id: z.string().check(z.minLength(1)), 'detail-type': z.literal('Scheduled Event'), source: z.string() });
const manualEvent = z.strictObject({ trigger: z.optional(z.literal('manual')) });

export function triggerOf(event: unknown, context: Context): EvaluationTrigger {
  const scheduled = scheduledEvent.safeParse(event);
  if (scheduled.success) return { type: 'schedule', id: scheduled.data.id };
  const manual = manualEvent.safeParse(event ?? {});
  if (manual.success) return { type: 'manual', id: context.awsRequestId };
  throw new Error('invalid evaluate event: expected an EventBridge "Scheduled Event" or {"trigger":"manual"}');
}

export const handler = async (event: unknown, context: Context): Promise<EvaluationSummary> =>
  withTelemetry(context, (event as { id?: unknown })?.id === undefined ? undefined : String((event as { id: unknown }).id), () => runTrigger(triggerOf(event, context), context));
