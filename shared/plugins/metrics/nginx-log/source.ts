/**
 * Reads each nginx container's log once per evaluation through the Docker endpoint's client (the
 * Docker target's, so TLS and certificate rotation are its), from the previous read on, and gives
 * every request the statistic over the lines after its own baseline.
 *
 * The baseline is the timestamp Docker gave the newest line already read (plug-in state, namespace
 * `nginx-log`), never this function's clock, so a Docker host whose clock is off loses no lines.
 * The first read, and the first after a state loss (a cold start), only records the baseline:
 * missing, which holds, never zero. So is an interval without requests. A line not in a documented
 * format is skipped and counted; an interval whose every line is malformed is an error (the
 * log_format is wrong), not a missing value.
 *
 * Bounded: at most `maxLines` lines (Docker's `tail`: the newest, when the interval had more) and
 * `maxBytesPerLine` bytes per line asked for (`maxLogBytes` in all) per read; a larger answer is cut
 * off and is an error naming the limit.
 */
import type { IncomingMessage } from 'node:http';
import type * as z from 'zod/mini';
import { call, dockerHost, type DockerHost } from '../../targets/docker/client.ts';
import { stateOf } from '../../state.ts';
import type { MetricRequest, MetricResult, MetricSource, PluginContext } from '../../types.ts';
import { parseDockerLogs, sinceParameter, summarise, type LogEntry, type Statistic } from './access-log.ts';
import type { NginxLogMetric } from './descriptor.ts';

type Metric = z.output<typeof NginxLogMetric>;

/**
 * Bytes one read may take per line asked for (Docker's 8-byte frame header and 31-byte timestamp
 * included): the documented format is under 100 bytes, so 4 KiB leaves room for added fields,
 * while a log of much longer lines is not the documented format and is refused, not buffered.
 */
export const maxBytesPerLine = 4096;
/** The most bytes one read takes from Docker, whatever maxLines says. */
export const maxLogBytes = 16_000_000;

interface Baseline {
  /** Nanoseconds (decimal) of the newest line read; '0' when the log was empty. */
  readonly after: string;
}

function statisticOf(metric: Metric): Statistic {
  return metric.statistic === 'mean' ? 'mean' : { quantile: Number(metric.statistic.slice(1)) / 100 };
}

/** GET /containers/{name}/logs with the container's standard output only, as a stream cut at `maxLogBytes`. */
async function readLogs(host: DockerHost, container: string, query: { since?: string; tail: number }, signal: AbortSignal): Promise<Buffer> {
  const response = await call(host, `read the logs of container "${container}"`, () =>
    new Promise<IncomingMessage>((resolve, reject) =>
      host.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(container)}/logs?`,
          method: 'GET',
          isStream: true,
          abortSignal: signal,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options: { stdout: true, stderr: false, timestamps: true, follow: false, tail: String(query.tail), ...(query.since ? { since: query.since } : {}) },
        },
        (err: unknown, stream: unknown) => (err ? reject(err) : resolve(stream as IncomingMessage)),
      ),
    ),
  );
  const limit = Math.min(maxLogBytes, query.tail * maxBytesPerLine);
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) {
        response.destroy();
        throw new Error(
          `${host.label}: the last ${query.tail} log lines of container "${container}" are more than ${limit} bytes ` +
            `(at most ${maxBytesPerLine} per line, ${maxLogBytes} per read): not the documented access-log format, or lower maxLines`,
        );
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if ((err as Error).message.startsWith(host.label)) throw err;
    throw new Error(`${host.label}: reading the logs of container "${container}" failed: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks);
}

export const nginxLogSource: MetricSource<Metric> = {
  source: 'nginx-log',
  async fetch(requests: ReadonlyArray<MetricRequest<Metric>>, ctx: PluginContext): Promise<Map<string, MetricResult>> {
    const results = new Map<string, MetricResult>();
    const state = stateOf(ctx, 'nginx-log');
    const byContainer = new Map<string, MetricRequest<Metric>[]>();
    for (const request of requests) {
      const group = JSON.stringify([request.metric.endpoint, request.metric.container]);
      byContainer.set(group, [...(byContainer.get(group) ?? []), request]);
    }
    await Promise.all(
      [...byContainer.values()].map(async (batch) => {
        const { endpoint, container } = batch[0]!.metric;
        const stateKeyOf = (request: MetricRequest<Metric>) => `${request.key} ${endpoint} ${container}`;
        const baselines = await Promise.all(batch.map(async (request) => (await state.get(stateKeyOf(request))) as Baseline | undefined));
        const known = baselines.filter((b): b is Baseline => b !== undefined).map((b) => BigInt(b.after));
        const oldest = known.length > 0 ? known.reduce((a, b) => (b < a ? b : a)) : undefined;

        let entries: LogEntry[];
        let unparsed: number;
        try {
          const host = await dockerHost(endpoint, ctx);
          // Without any baseline, the newest line alone is enough to set one.
          const query = oldest === undefined ? { tail: 1 } : { tail: Math.max(...batch.map((r) => r.metric.maxLines)), ...(oldest > 0n ? { since: sinceParameter(oldest) } : {}) };
          ({ entries, unparsed } = parseDockerLogs(await readLogs(host, container, query, ctx.signal)));
        } catch (err) {
          const message = (err as Error).message;
          for (const request of batch) results.set(request.key, { error: message.includes(container) ? message : `nginx container "${container}": ${message}` });
          return;
        }
        const newest = entries.length > 0 ? entries[entries.length - 1]!.at : (oldest ?? 0n);
        const now = Date.now();

        await Promise.all(
          batch.map(async (request, i) => {
            const baseline = baselines[i];
            const after = baseline ? BigInt(baseline.after) : undefined;
            const nextBaseline = after !== undefined && after > newest ? after : newest;
            await state.set(stateKeyOf(request), { after: nextBaseline.toString() } satisfies Baseline);
            if (after === undefined) return results.set(request.key, undefined);
            // Docker keeps lines at `since` too: the boundary line was counted by the previous read.
            const lines = entries.filter((e) => e.at > after).slice(-request.metric.maxLines).map((e) => e.line);
            const summary = summarise(lines, request.metric.field, statisticOf(request.metric));
            const malformed = summary.malformed + unparsed;
            if (summary.value === undefined && malformed > 0 && summary.withoutUpstream === 0) {
              return results.set(request.key, {
                error:
                  `nginx container "${container}": none of the ${malformed} log lines since the previous read has ${request.metric.field}= ` +
                  `(key=value or JSON); the access log needs the documented log_format (see the nginx-log source)`,
              });
            }
            if (malformed > 0) console.warn(`nginx-log ${request.key}: skipped ${malformed} malformed log lines of container "${container}" (${summary.requests} requests read)`);
            results.set(request.key, summary.value === undefined ? undefined : { value: summary.value, timestamp: now });
          }),
        );
      }),
    );
    return results;
  },
};
