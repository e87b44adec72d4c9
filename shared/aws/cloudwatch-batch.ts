/**
 * Every CloudWatch-backed reading of one evaluation (cloudwatch metrics, math expressions and
 * ElastiCache per-node metrics) goes out in GetMetricData calls of at most 500 queries per region.
 *
 * The engine calls each metric source's `fetch` concurrently (one per source), so the two sources
 * that read CloudWatch meet here: each `join`s the current round before doing any async work of its
 * own (ElastiCache first resolves its nodes), and the round is sent once every member has submitted
 * its queries (or left) and no new member joined for one turn of the event loop. A source whose
 * fetch starts after a round was sent simply starts the next round.
 */
import { GetMetricDataCommand, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { MetricResult } from '../plugins/types.ts';
import { cloudWatchClient, isThrottling } from './clients.ts';

/** GetMetricData's limit on MetricDataQuery structures per call. */
export const maxQueriesPerCall = 500;

/** One metric to read: one returned query plus the hidden ones it uses (a math expression's `using`). */
export interface CloudWatchRequest {
  readonly key: string;
  readonly region: string | undefined;
  readonly period: number;
  /** How far back the newest datapoint may be. */
  readonly lookbackSeconds: number;
  /** Either one metric (`metricStat`) or an expression over `using` sub-metrics. */
  readonly metricStat?: { namespace: string; name: string; dimensions: Readonly<Record<string, string>>; stat: string };
  readonly expression?: { text: string; using: Readonly<Record<string, { namespace: string; name: string; dimensions: Readonly<Record<string, string>>; stat: string }>> };
}

export interface BatchOptions {
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/** How many GetMetricData calls this process made (for benchmarks and tests). */
export const callCounter = { calls: 0 };

/** Fetches the requests now, without waiting for other sources (see `joinBatch` for that). */
export async function fetchCloudWatch(requests: readonly CloudWatchRequest[], options: BatchOptions = {}): Promise<Map<string, MetricResult>> {
  const now = (options.now ?? Date.now)();
  const results = new Map<string, MetricResult>();
  const byRegion = new Map<string, CloudWatchRequest[]>();
  for (const request of requests) {
    const region = request.region ?? '';
    byRegion.set(region, [...(byRegion.get(region) ?? []), request]);
  }
  // A few calls at a time per region: fast for thousands of metrics, well inside GetMetricData's TPS quota.
  const work = [...byRegion].flatMap(([region, inRegion]) => chunks(inRegion).map((chunk) => ({ region: region || undefined, chunk })));
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { region, chunk } = work[next++]!;
      const found = await fetchChunk(region, chunk, now, options.signal);
      for (const [key, result] of found) results.set(key, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(callConcurrency, work.length) }, worker));
  return results;
}

/** GetMetricData calls in flight at once. */
export const callConcurrency = 4;

/** Packs whole requests (an expression stays with its sub-metrics) into chunks of ≤ 500 queries. */
function chunks(requests: readonly CloudWatchRequest[]): CloudWatchRequest[][] {
  const out: CloudWatchRequest[][] = [];
  let current: CloudWatchRequest[] = [];
  let size = 0;
  for (const request of requests) {
    const n = queryCount(request);
    if (n > maxQueriesPerCall) throw new Error(`${request.key}: ${n} queries exceed GetMetricData's limit of ${maxQueriesPerCall}`);
    if (size + n > maxQueriesPerCall) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(request);
    size += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function queryCount(request: CloudWatchRequest): number {
  return request.expression ? 1 + Object.keys(request.expression.using).length : 1;
}

function metricStat(m: { namespace: string; name: string; dimensions: Readonly<Record<string, string>>; stat: string }, period: number) {
  return {
    Metric: { Namespace: m.namespace, MetricName: m.name, Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value })) },
    Period: period,
    Stat: m.stat,
  };
}

/** The queries of one request, with ids unique in the call (`q<n>`, sub-metrics `q<n>_<id>`). */
export function queriesFor(request: CloudWatchRequest, index: number): MetricDataQuery[] {
  const id = `q${index}`;
  if (request.metricStat) return [{ Id: id, MetricStat: metricStat(request.metricStat, request.period), ReturnData: true }];
  const expression = request.expression!;
  const subIds = Object.keys(expression.using);
  // The user's sub-metric names are only unique within one policy: prefix them, in the expression too
  // (outside string literals, whose words are not ids).
  const text = subIds.length === 0 ? expression.text : renameIds(expression.text, new RegExp(`\\b(${subIds.map(escape).join('|')})\\b`, 'g'), `${id}_$1`);
  return [
    ...subIds.map((sub) => ({ Id: `${id}_${sub}`, MetricStat: metricStat(expression.using[sub]!, request.period), ReturnData: false })),
    { Id: id, Expression: text, Period: request.period, ReturnData: true },
  ];
}

function renameIds(expression: string, ids: RegExp, replacement: string): string {
  return expression
    .split(/('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(ids, replacement)))
    .join('');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function fetchChunk(region: string | undefined, chunk: readonly CloudWatchRequest[], now: number, signal: AbortSignal | undefined): Promise<Map<string, MetricResult>> {
  const results = new Map<string, MetricResult>();
  const lookback = Math.max(...chunk.map((r) => r.lookbackSeconds));
  const queries = chunk.flatMap((request, i) => queriesFor(request, i));
  const points = new Map<string, Array<{ at: number; value: number }>>();
  const problems = new Map<string, string>();
  try {
    let nextToken: string | undefined;
    do {
      callCounter.calls += 1;
      const response = await cloudWatchClient(region).send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(now - lookback * 1000),
          EndTime: new Date(now),
          ScanBy: 'TimestampDescending',
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      for (const result of response.MetricDataResults ?? []) collect(result, points, problems);
      nextToken = response.NextToken;
    } while (nextToken);
  } catch (error) {
    const text = `${isThrottling(error) ? 'throttled: ' : ''}GetMetricData${region ? ` in ${region}` : ''} failed: ${(error as Error).message}`;
    for (const request of chunk) results.set(request.key, { error: text });
    return results;
  }
  chunk.forEach((request, i) => {
    const id = `q${i}`;
    const since = now - request.lookbackSeconds * 1000;
    // Newest datapoint inside this request's own window wins; none means missing, never zero.
    const newest = (points.get(id) ?? []).filter((p) => p.at >= since && Number.isFinite(p.value)).sort((a, b) => b.at - a.at)[0];
    if (newest) results.set(request.key, { value: newest.value, timestamp: newest.at });
    else if (problems.has(id)) results.set(request.key, { error: problems.get(id)! });
    else results.set(request.key, undefined);
  });
  return results;
}

function collect(result: MetricDataResult, points: Map<string, Array<{ at: number; value: number }>>, problems: Map<string, string>): void {
  if (!result.Id) return;
  const list = points.get(result.Id) ?? [];
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  for (let i = 0; i < Math.min(timestamps.length, values.length); i++) list.push({ at: new Date(timestamps[i]!).getTime(), value: values[i]! });
  points.set(result.Id, list);
  if (result.StatusCode === 'Forbidden' || result.StatusCode === 'InternalError') {
    const detail = (result.Messages ?? []).map((m) => `${m.Code}: ${m.Value}`).join('; ');
    problems.set(result.Id, `CloudWatch ${result.StatusCode}${detail ? ` (${detail})` : ''}`);
  }
}

// ---------------------------------------------------------------- rounds shared by the sources

interface Entry {
  readonly requests: readonly CloudWatchRequest[];
  readonly resolve: (results: Map<string, MetricResult>) => void;
}

interface Round {
  open: number;
  sent: boolean;
  readonly entries: Entry[];
  readonly options: BatchOptions;
}

let current: Round | undefined;

export interface BatchTicket {
  /** Adds this source's requests to the round; resolves with their results once the round is sent. */
  submit(requests: readonly CloudWatchRequest[]): Promise<Map<string, MetricResult>>;
  /** For a source that has nothing to submit after all (or failed before it could). */
  leave(): void;
}

/** Joins the round being gathered (or starts one). Call before any await, then submit or leave. */
export function joinBatch(options: BatchOptions = {}): BatchTicket {
  if (!current || current.sent) current = { open: 0, sent: false, entries: [], options };
  const round = current;
  round.open += 1;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    round.open -= 1;
    scheduleSend(round);
  };
  return {
    submit(requests) {
      return new Promise((resolve) => {
        round.entries.push({ requests, resolve });
        finish();
      });
    },
    leave: finish,
  };
}

function scheduleSend(round: Round): void {
  if (round.open > 0) return;
  // One turn of the event loop: a source still loading may join meanwhile.
  setImmediate(() => {
    if (round.open > 0 || round.sent) return;
    round.sent = true;
    void send(round);
  });
}

async function send(round: Round): Promise<void> {
  const all = round.entries.flatMap((e) => e.requests);
  let results: Map<string, MetricResult>;
  try {
    results = await fetchCloudWatch(all, round.options);
  } catch (error) {
    results = new Map(all.map((r) => [r.key, { error: (error as Error).message }]));
  }
  for (const entry of round.entries) entry.resolve(new Map(entry.requests.map((r) => [r.key, results.get(r.key)])));
}
