/**
 * Pure parsing for the nginx-log source: Docker's log stream (multiplexed frames, timestamps) and
 * nginx access-log lines in one of the two documented formats, then the statistic in milliseconds.
 *
 * The nginx configuration the source expects (either line; the keys are the variables' names):
 *
 *   log_format autoscaler 'request_time=$request_time upstream_response_time="$upstream_response_time"';
 *   log_format autoscaler escape=json '{"request_time":"$request_time","upstream_response_time":"$upstream_response_time"}';
 *   access_log /dev/stdout autoscaler;
 *
 * Other key=value pairs or JSON keys may be added anywhere (status, uri, …); they are ignored.
 */

export type ResponseTimeField = 'request_time' | 'upstream_response_time';
export type Statistic = 'mean' | { readonly quantile: number };

/** One log entry: Docker's timestamp (nanoseconds since the epoch) and the line nginx wrote. */
export interface LogEntry {
  readonly at: bigint;
  readonly line: string;
}

/**
 * Splits the body of GET /containers/{id}/logs?timestamps=1. A container without a TTY sends
 * multiplexed frames (8-byte header: stream, 0, 0, 0, big-endian length); with a TTY the body is
 * the raw text. With timestamps on, raw text starts with a digit, never with a stream byte 0-2.
 * Lines without a parseable timestamp are returned in `unparsed` (counted as malformed).
 */
export function parseDockerLogs(body: Buffer): { entries: LogEntry[]; unparsed: number } {
  const text = isMultiplexed(body) ? demultiplex(body) : body.toString('utf8');
  const entries: LogEntry[] = [];
  let unparsed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const space = line.indexOf(' ');
    const at = space > 0 ? dockerTimestampNanos(line.slice(0, space)) : undefined;
    if (at === undefined) unparsed++;
    else entries.push({ at, line: line.slice(space + 1) });
  }
  return { entries, unparsed };
}

function isMultiplexed(body: Buffer): boolean {
  return body.length >= 8 && body[0]! <= 2 && body[1] === 0 && body[2] === 0 && body[3] === 0;
}

function demultiplex(body: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= body.length) {
    const length = body.readUInt32BE(offset + 4);
    parts.push(body.subarray(offset + 8, Math.min(body.length, offset + 8 + length)));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** `2026-12-01T03:14:16.123456789Z` (Docker's RFC 3339 with nanoseconds) → nanoseconds since the epoch. */
export function dockerTimestampNanos(timestamp: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!match) return undefined;
  const millis = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(millis)) return undefined;
  return BigInt(millis) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** Docker's `since` query parameter for a point in time: `seconds.nanoseconds` (the engine keeps lines at or after it). */
export function sinceParameter(nanos: bigint): string {
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * The field's value in seconds, `null` when the request had no upstream (`-`: nginx answered it
 * itself), or undefined when the line is not in a documented format or the value is not a time.
 * $upstream_response_time lists one time per upstream tried (`0.012, 0.300 : 0.004`): the sum is
 * what the request spent in upstreams.
 */
export function responseTimeOf(line: string, field: ResponseTimeField): number | null | undefined {
  const value = line.trimStart().startsWith('{') ? jsonValue(line, field) : keyValue(line, field);
  if (value === undefined) return undefined;
  const parts = value.split(/\s*[,:]\s*/).map((part) => part.trim());
  if (parts.every((part) => part === '-' || part === '')) return null;
  let seconds = 0;
  for (const part of parts) {
    if (part === '-') continue;
    if (!/^\d+(\.\d+)?$/.test(part)) return undefined;
    seconds += Number(part);
  }
  return seconds;
}

function jsonValue(line: string, field: ResponseTimeField): string | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    const value = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[field] : undefined;
    return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  } catch {
    return undefined;
  }
}

function keyValue(line: string, field: ResponseTimeField): string | undefined {
  for (const match of line.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    if (match[1] !== field) continue;
    const value = match[2]!;
    return value.startsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

export interface IntervalSummary {
  /** The statistic in milliseconds; undefined when no request in the interval had the field. */
  readonly value: number | undefined;
  /** Requests that had a time. */
  readonly requests: number;
  /** Lines not in a documented format (skipped). */
  readonly malformed: number;
  /** Requests without an upstream (`-`), left out of upstream_response_time. */
  readonly withoutUpstream: number;
}

/** The statistic over the lines of one interval: mean, or the nearest-rank quantile. */
export function summarise(lines: readonly string[], field: ResponseTimeField, statistic: Statistic): IntervalSummary {
  const seconds: number[] = [];
  let malformed = 0;
  let withoutUpstream = 0;
  for (const line of lines) {
    const time = responseTimeOf(line, field);
    if (time === undefined) malformed++;
    else if (time === null) withoutUpstream++;
    else seconds.push(time);
  }
  return { value: seconds.length === 0 ? undefined : statisticOf(seconds, statistic) * 1000, requests: seconds.length, malformed, withoutUpstream };
}

function statisticOf(values: number[], statistic: Statistic): number {
  if (statistic === 'mean') return values.reduce((sum, v) => sum + v, 0) / values.length;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(statistic.quantile * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
