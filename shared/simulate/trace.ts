/** Per-minute demand traces: `minute,requests` CSV, optionally gzip-compressed, header optional. */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export interface Trace {
  /** The minute number of demand[0], as written in the file. */
  readonly firstMinute: number;
  /** Requests per minute, one entry per minute from firstMinute on. */
  readonly demand: Float64Array;
  /** Minutes missing from the file between its first and last minute, counted as 0 requests. */
  readonly missingMinutes: number;
}

const numberPattern = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export async function readTrace(path: string): Promise<Trace> {
  return parseTrace(await readFile(path), path);
}

/** Parses the bytes of a trace (gzip is recognised by its magic bytes, not by the file name). */
export function parseTrace(bytes: Uint8Array, name = 'trace'): Trace {
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = Buffer.from(gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  const minutes: number[] = [];
  const requests: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',').map((f) => f.trim());
    const isHeader = minutes.length === 0 && !numberPattern.test(fields[0] ?? '');
    if (isHeader) continue;
    const where = `${name}: line ${i + 1}`;
    if (fields.length !== 2) throw new Error(`${where}: expected "minute,requests", got ${JSON.stringify(line.slice(0, 80))}`);
    const [minuteText, requestsText] = fields as [string, string];
    const minute = Number(minuteText);
    const value = Number(requestsText);
    if (!numberPattern.test(minuteText) || !Number.isInteger(minute)) throw new Error(`${where}: minute must be a whole number >= 0, got ${JSON.stringify(minuteText)}`);
    if (!numberPattern.test(requestsText) || !Number.isFinite(value)) throw new Error(`${where}: requests must be a number >= 0, got ${JSON.stringify(requestsText)}`);
    const previous = minutes.at(-1);
    if (previous !== undefined && minute <= previous) throw new Error(`${where}: minutes must increase, got ${minute} after ${previous}`);
    minutes.push(minute);
    requests.push(value);
  }
  if (minutes.length === 0) throw new Error(`${name}: no "minute,requests" rows`);
  const firstMinute = minutes[0]!;
  const demand = new Float64Array(minutes.at(-1)! - firstMinute + 1);
  for (let i = 0; i < minutes.length; i++) demand[minutes[i]! - firstMinute] = requests[i]!;
  return { firstMinute, demand, missingMinutes: demand.length - minutes.length };
}
