/**
 * Every CloudWatch-backed reading of one evaluation (cloudwatch metrics, math expressions and
 * ElastiCache per-node metrics) goes out in GetMetricData calls of at most 500 queries, one call per
 * region and [StartTime, EndTime) window (see `windowOf`).
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
  /** How far back the newest complete period may be. */
  readonly lookbackSeconds: number;
  /** How late the metric's datapoints arrive: periods ending less than this long ago are not read yet. */
  readonly delaySeconds?: number | undefined;
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

/** The [start, end) a request reads, in ms since the epoch. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/**
 * The whole periods a request reads. CloudWatch returns the period that contains EndTime while it
 * is still filling (a Sum over 20 of 60 seconds reads as a third of the load), and rounds StartTime
 * down to the minute (GetMetricData API reference, StartTime/EndTime). So EndTime is the last period
 * boundary at least `delaySeconds` ago, and StartTime whole periods before it: every datapoint in
 * the window covers a complete period. Periods are aligned to the epoch, as CloudWatch aligns them
 * (1, 5, 10, 30 s or whole minutes; all divide an hour or a multiple of it).
 */
export function windowOf(request: Pick<CloudWatchRequest, 'period' | 'lookbackSeconds' | 'delaySeconds'>, now: number): Window {
  const periodMs = request.period * 1000;
  const end = Math.floor((now - (request.delaySeconds ?? 0) * 1000) / periodMs) * periodMs;
  const periods = Math.max(1, Math.ceil(request.lookbackSeconds / request.period));
  return { start: end - periods * periodMs, end };
}

/** Fetches the requests now, without waiting for other sources (see `joinBatch` for that). */
export async function fetchCloudWatch(requests: readonly CloudWatchRequest[], options: BatchOptions = {}): Promise<Map<string, MetricResult>> {
  const now = (options.now ?? Date.now)();
  const results = new Map<string, MetricResult>();
  // One call asks every query for one [StartTime, EndTime): requests share a call only when their
  // windows are equal, so one day-long lookback does not make 499 neighbours return a day of points.
  const groups = new Map<string, { region: string | undefined; window: Window; requests: CloudWatchRequest[] }>();
  for (const request of requests) {
    const window = windowOf(request, now);
    const key = `${request.region ?? ''}|${window.start}|${window.end}`;
    const group = groups.get(key) ?? { region: request.region, window, requests: [] };
    group.requests.push(request);
    groups.set(key, group);
  }
  // A few calls at a time: fast for thousands of metrics, well inside GetMetricData's TPS quota.
  const work = [...groups.values()].flatMap(({ region, window, requests: inGroup }) => chunks(inGroup).map((chunk) => ({ region, window, chunk })));
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { region, window, chunk } = work[next++]!;
      const found = await fetchIsolating(region, window, chunk, options.signal);
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

/**
 * Extra GetMetricData calls one chunk may spend isolating rejected requests. One bad request among
 * 500 costs about 2 × log2(500) ≈ 18 calls; a rejection every request shares (a bad window, say)
 * would otherwise cost 2 × 500 − 1 calls, all failing.
 */
export const maxSplitCalls = 40;

/**
 * A request CloudWatch rejects as a whole (ValidationError, e.g. "Error in expression": one bad
 * metric math expression fails the entire GetMetricData call, HTTP 400) would fail every request
 * batched with it: the call is split in halves until the bad request stands alone, so only it fails.
 */
async function fetchIsolating(region: string | undefined, window: Window, chunk: readonly CloudWatchRequest[], signal: AbortSignal | undefined, budget = { calls: maxSplitCalls }): Promise<Map<string, MetricResult>> {
  const outcome = await fetchChunk(region, window, chunk, signal);
  if (!('rejected' in outcome)) return outcome;
  if (chunk.length === 1 || !isRequestRejected(outcome.rejected) || budget.calls < 2) {
    return new Map(chunk.map((request) => [request.key, { error: outcome.message }]));
  }
  budget.calls -= 2;
  const half = Math.ceil(chunk.length / 2);
  // One half after the other: the split stays inside the worker's share of the call concurrency.
  const first = await fetchIsolating(region, window, chunk.slice(0, half), signal, budget);
  const second = await fetchIsolating(region, window, chunk.slice(half), signal, budget);
  return new Map([...first, ...second]);
}

/** Errors about the request's content (not throttling, access or an outage): another split may succeed. */
export function isRequestRejected(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name ?? '';
  return /^(ValidationError|InvalidParameterValue|InvalidParameterCombination|MissingParameter|InvalidParameterValueException)$/.test(name);
}

async function fetchChunk(region: string | undefined, window: Window, chunk: readonly CloudWatchRequest[], signal: AbortSignal | undefined): Promise<Map<string, MetricResult> | { rejected: unknown; message: string }> {
  const results = new Map<string, MetricResult>();
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
          StartTime: new Date(window.start),
          EndTime: new Date(window.end),
          ScanBy: 'TimestampDescending',
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      for (const result of response.MetricDataResults ?? []) collect(result, points, problems);
      nextToken = response.NextToken;
    } while (nextToken);
  } catch (error) {
    return { rejected: error, message: `${isThrottling(error) ? 'throttled: ' : ''}GetMetricData${region ? ` in ${region}` : ''} failed: ${(error as Error).message}` };
  }
  chunk.forEach((request, i) => {
    const id = `q${i}`;
    // The newest complete period in the window wins (a datapoint is stamped with its period's start);
    // anything at or after EndTime would be a period still filling. None means missing, never zero.
    const newest = (points.get(id) ?? []).filter((p) => p.at >= window.start && p.at + request.period * 1000 <= window.end && Number.isFinite(p.value)).sort((a, b) => b.at - a.at)[0];
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
