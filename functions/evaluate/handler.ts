/**
 * The schedule tick: the fan-out dispatcher (shared/fanout/dispatcher.ts). It lists the enabled
 * policies from the compact index and either sends one SQS message per shard to the workers
 * (functions/worker/handler.ts), or, for a small deployment, evaluates the one shard right here
 * through the same code. Also accepts a manual invocation (`{}` or `{"trigger":"manual"}`); the
 * EventBridge event id (or the Lambda request id) is the tick id, so a retried tick acts at most
 * once per target.
 */
import type { Context } from 'aws-lambda';
// zod/mini: smaller and quicker to load at a cold start than classic zod.
import * as z from 'zod/mini';
import '../../shared/zod-locale.ts';
import type { Tick } from '../../shared/fanout/dispatcher.ts';
import { withTelemetry } from '../common/runtime.ts';
import { getFanout, runTick } from '../common/fanout.ts';

const scheduledEvent = z.looseObject({ id: z.string().check(z.minLength(1)), 'detail-type': z.literal('Scheduled Event'), source: z.string() });
const manualEvent = z.strictObject({ trigger: z.optional(z.literal('manual')) });

export interface TickSummary {
  readonly mode: 'in-process' | 'queue';
  readonly policies: number;
  readonly targets: number;
  readonly shards: number;
  /** In-process only (workers report their own shards): audit records, actions and failures. */
  readonly records: number;
  readonly actions: number;
  readonly failures: number;
}

export function tickOf(event: unknown, context: Context, now = Date.now()): Tick {
  const intervalMs = getFanout().config.intervalMs;
  const scheduled = scheduledEvent.safeParse(event);
  // A shard's age counts from the dispatcher's read of the index (the readings it carries are that
  // old); a late EventBridge delivery is bounded by the schedule target's maxEventAge already.
  if (scheduled.success) return { id: scheduled.data.id, at: now, intervalMs };
  const manual = manualEvent.safeParse(event ?? {});
  if (manual.success) return { id: context.awsRequestId, at: now, intervalMs, trigger: 'manual' };
  throw new Error('invalid evaluate event: expected an EventBridge "Scheduled Event" or {"trigger":"manual"}');
}

export const handler = async (event: unknown, context: Context): Promise<TickSummary> =>
  withTelemetry(context, (event as { id?: unknown })?.id === undefined ? undefined : String((event as { id: unknown }).id), async () => {
    const result = await runTick(tickOf(event, context), context);
    const evaluated = result.mode === 'in-process' && result.outcome?.outcome === 'evaluated' ? result.outcome : undefined;
    return {
      mode: result.mode,
      policies: result.policies,
      targets: result.targets,
      shards: result.shards,
      records: evaluated?.records ?? 0,
      actions: evaluated?.written.filter((r) => r.status === 'Successful' && r.action !== 'none').length ?? 0,
      failures: evaluated?.failures ?? 0,
    };
  });
