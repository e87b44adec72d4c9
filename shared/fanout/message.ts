/**
 * The SQS message of one shard: what a worker evaluates, and for which tick. Validated on receipt
 * (it crosses a trust boundary: anyone with sqs:SendMessage could write one) and bounded, so a
 * malformed or oversized message fails with a message that names the field.
 */
import * as z from 'zod/mini';
import '../zod-locale.ts';

/** SQS's limit is 256 KiB; 1,000 targets of a few policies stay far below it. */
export const maxShardMessageBytes = 256 * 1024;

const id = z.string().check(z.minLength(1), z.maxLength(256));

export const ShardMessage = z.strictObject({
  /** The schedule tick (EventBridge event id): the idempotency key of every action in it, per target. */
  tickId: id,
  /** A manual invocation of the scheduled function is audited as such. Default schedule. */
  trigger: z.optional(z.enum(['schedule', 'manual'])),
  /** When the tick fired, epoch ms: a shard older than one schedule interval is stale. */
  tickAt: z.number().check(z.int(), z.minimum(0)),
  /** The schedule interval the dispatcher ran with, ms. */
  intervalMs: z.number().check(z.int(), z.minimum(1_000), z.maximum(86_400_000)),
  shard: z.number().check(z.int(), z.minimum(0), z.maximum(99_999)),
  shards: z.number().check(z.int(), z.minimum(1), z.maximum(100_000)),
  targets: z.array(id).check(z.minLength(1), z.maxLength(1_000)),
  policies: z.array(z.strictObject({ id, version: z.number().check(z.int(), z.minimum(1)) })).check(z.minLength(1), z.maxLength(10_000)),
});
export type ShardMessage = z.output<typeof ShardMessage>;

/** Parses a message body; the error names the field, the value and what is allowed. */
export function parseShardMessage(body: string): ShardMessage {
  if (Buffer.byteLength(body) > maxShardMessageBytes) throw new Error(`shard message: ${Buffer.byteLength(body)} bytes; allowed: at most ${maxShardMessageBytes}`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`shard message: not JSON (starts "${body.slice(0, 40)}")`);
  }
  const parsed = ShardMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.') || '(message)';
    const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], json);
    throw new Error(`shard message: ${path}: ${JSON.stringify(value)?.slice(0, 80) ?? 'missing'}: ${issue.message}`);
  }
  return parsed.data;
}
