/**
 * The one place an audit record is built. Every record (decisions, failures, availability actions,
 * recovered intents, alarms not acted on, invalid stored policies) goes through `buildRecord`, which
 * bounds it so that DynamoDB always accepts it:
 * - a number that is not finite (a Redis integer beyond a double reads as Infinity) is stored as null
 *   and the substitution is noted in `details.bounded`;
 * - a long string (a rejected 200 KB label value, a huge API error) is cut to `maxStringChars` and
 *   marked with how long it was; a long array is cut to `maxArrayItems`;
 * - if the record is still above `maxRecordBytes` (far below the 400 KB item limit, leaving room for
 *   the keys the store adds and for the lease item that carries the record as an intent), its
 *   details are replaced by a note.
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecord, Trigger } from './record.ts';

export const maxStringChars = 2_048;
export const maxErrorChars = 4_096;
export const maxArrayItems = 100;
export const maxRecordBytes = 100_000;

/** What a caller knows; everything else has a neutral default. */
export type RecordFields = Omit<AuditRecord, 'activityId' | 'inputs' | 'currentReplicas' | 'rawDesired' | 'desiredReplicas' | 'endedAt'> &
  Partial<Pick<AuditRecord, 'activityId' | 'inputs' | 'currentReplicas' | 'rawDesired' | 'desiredReplicas' | 'endedAt'>>;

export function buildRecord(fields: RecordFields): AuditRecord {
  const record: AuditRecord = {
    activityId: fields.activityId ?? randomUUID(),
    policyId: fields.policyId,
    policyVersion: fields.policyVersion,
    target: fields.target,
    trigger: cleanTrigger(fields.trigger),
    inputs: fields.inputs ?? [],
    currentReplicas: fields.currentReplicas ?? null,
    rawDesired: fields.rawDesired ?? null,
    desiredReplicas: fields.desiredReplicas ?? null,
    action: fields.action,
    status: fields.status,
    ...(fields.notScaledReason ? { notScaledReason: fields.notScaledReason } : {}),
    ...(fields.reason ? { reason: fields.reason } : {}),
    ...(fields.details && Object.keys(fields.details).length > 0 ? { details: fields.details } : {}),
    ...(fields.error ? { error: fields.error } : {}),
    startedAt: fields.startedAt,
    endedAt: fields.endedAt ?? fields.startedAt,
  };
  return boundRecord(record);
}

/** The record made storable: see the module comment. Idempotent. */
export function boundRecord(record: AuditRecord): AuditRecord {
  const notes: string[] = [];
  const bounded = bound(record, '', notes, maxStringChars) as Record<string, unknown>;
  if (typeof record.error === 'string' && record.error.length > maxErrorChars) {
    bounded.error = `${record.error.slice(0, maxErrorChars)}… [truncated, ${record.error.length} chars]`;
  }
  if (notes.length > 0) {
    const details = { ...(bounded.details as Record<string, unknown> | undefined) };
    const earlier = Array.isArray(details.bounded) ? (details.bounded as string[]) : [];
    details.bounded = [...earlier, ...notes].slice(0, maxArrayItems);
    bounded.details = details;
  }
  if (Buffer.byteLength(JSON.stringify(bounded)) > maxRecordBytes) {
    bounded.details = { bounded: [`details dropped: the record exceeded ${maxRecordBytes} bytes`, ...notes.slice(0, 20)] };
  }
  return bounded as unknown as AuditRecord;
}

function bound(value: unknown, path: string, notes: string[], stringLimit: number): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    notes.push(`${path || 'value'}: ${String(value)} stored as null`);
    return null;
  }
  if (typeof value === 'string') {
    // The error field has its own, larger limit (applied by the caller).
    if (path === 'error' || value.length <= stringLimit) return value;
    notes.push(`${path}: truncated from ${value.length} chars`);
    return `${value.slice(0, stringLimit)}… [truncated, ${value.length} chars]`;
  }
  if (Array.isArray(value)) {
    const items = value.slice(0, maxArrayItems).map((item, i) => bound(item, `${path}[${i}]`, notes, stringLimit));
    if (value.length > maxArrayItems) notes.push(`${path}: ${value.length - maxArrayItems} of ${value.length} items left out`);
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const shortKey = key.length > 200 ? `${key.slice(0, 200)}…` : key;
      out[shortKey] = bound(item, path ? `${path}.${shortKey}` : shortKey, notes, stringLimit);
    }
    return out;
  }
  return value;
}

/** The trigger as stored: no undefined fields, no alarm context (that is an input, not an identity). */
export function cleanTrigger(trigger: Trigger & { alarm?: unknown }): Trigger {
  const { alarm: _alarm, ...rest } = trigger;
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) clean[key] = value;
  return clean as unknown as Trigger;
}
