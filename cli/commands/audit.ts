/** `autoscaler audit`: what happened and why, from the audit table (AWS, or --local DIR). */
import { parseArgs } from 'node:util';
import type { AuditQuery, StoredAuditRecord } from '../../shared/state/audit.ts';
import { openStores } from '../../shared/local/store.ts';

export const summary = 'Show audit records: filter by target, policy, time, status, action; --json; --follow';

const statuses = ['Successful', 'Failed', 'DryRun', 'NotScaled'];
const actions = ['scaleOut', 'scaleIn', 'restart', 'recreate', 'none'];

const help = `Usage: autoscaler audit [options]

Prints audit records, newest first, as a table (time, policy, target, action, status, current→desired, reason).
Reads every page of the result (beyond DynamoDB's 1 MB pages) up to --limit.

Filters:
  --target T          a target key, e.g. docker/edge-1/web or kubernetes/prod/workers/Deployment/sidekiq
  --policy P          a policy id
  --since DURATION    records from DURATION ago: 90s, 30m, 2h, 7d (default 24h)
  --from ISO --to ISO records in a time window (--to defaults to now)
  --status S          ${statuses.join(' | ')}
  --action A          ${actions.join(' | ')}
  --limit N           at most N records (default 100; 0 = all)

Output:
  --json              one JSON object per line (JSON Lines), newest first
  --follow            after the records so far, poll and print new ones (oldest first) until Ctrl-C
  --interval DURATION how often --follow polls (default 2s)

Store:
  --local DIR         the local store of \`autoscaler local --data DIR\`; otherwise the AWS tables named by
                      POLICIES_TABLE, STATE_TABLE, AUDIT_TABLE`;

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration (a number and s, m, h or d, e.g. 2h)`);
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function parseTime(name: string, text: string): number {
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) throw new Error(`${name}: "${text}" is not an ISO-8601 time (e.g. 2026-05-01T12:00:00Z)`);
  return t;
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: 'string' },
        policy: { type: 'string' },
        since: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        status: { type: 'string' },
        action: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        follow: { type: 'boolean' },
        local: { type: 'string' },
        interval: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`autoscaler audit: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  let query: AuditQuery;
  let pollMs = 2_000;
  try {
    if (values.since !== undefined && (values.from !== undefined || values.to !== undefined)) throw new Error('use --since or --from/--to, not both');
    if (values.to !== undefined && values.from === undefined) throw new Error('--to needs --from');
    if (values.status !== undefined && !statuses.includes(values.status)) throw new Error(`--status: "${values.status}" is not allowed (allowed: ${statuses.join(', ')})`);
    if (values.action !== undefined && !actions.includes(values.action)) throw new Error(`--action: "${values.action}" is not allowed (allowed: ${actions.join(', ')})`);
    const limit = values.limit === undefined ? 100 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`--limit: "${values.limit}" is not a whole number ≥ 0`);
    if (values.interval !== undefined) pollMs = parseDuration(values.interval);
    const from = values.from !== undefined ? parseTime('--from', values.from) : Date.now() - parseDuration(values.since ?? '24h');
    const to = values.to !== undefined ? parseTime('--to', values.to) : undefined;
    if (to !== undefined && to < from) throw new Error('--to is before --from');
    query = {
      from,
      ...(to !== undefined ? { to } : {}),
      ...(values.target !== undefined ? { target: values.target } : {}),
      ...(values.policy !== undefined ? { policyId: values.policy } : {}),
      ...(values.status !== undefined ? { status: values.status } : {}),
      ...(values.action !== undefined ? { action: values.action } : {}),
      ...(limit > 0 ? { limit } : {}),
    };
  } catch (error) {
    console.error(`autoscaler audit: ${(error as Error).message}`);
    return 2;
  }

  const { stores, close } = await openStores(values.local);
  try {
    const print = values.json ? (r: StoredAuditRecord) => console.log(JSON.stringify(r)) : (r: StoredAuditRecord) => console.log(row(r));
    if (!values.json) console.log(row(undefined));
    let newest: string | undefined;
    let count = 0;
    const shown = new Set<string>();
    for await (const record of stores.audit.query(query)) {
      shown.add(record.at);
      if (newest === undefined || record.at > newest) newest = record.at;
      print(record);
      count++;
    }
    if (!values.follow) {
      if (!values.json && count === 0) console.log('(no records)');
      return 0;
    }
    // Follow: poll for records after the newest seen, oldest first, until Ctrl-C.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      while (!stop.signal.aborted) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          stop.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
        if (stop.signal.aborted) break;
        // Records are keyed by their start time but written at the end, so look back a little and skip what was shown.
        const { limit: _limit, to: _to, from: _from, ...rest } = query;
        const lookbackFrom = Math.max(query.from ?? 0, (newest ? Date.parse(newest.slice(0, 24)) : Date.now()) - followLookbackMs);
        for await (const record of stores.audit.query({ ...rest, from: lookbackFrom, order: 'oldest' })) {
          if (shown.has(record.at)) continue;
          shown.add(record.at);
          if (newest === undefined || record.at > newest) newest = record.at;
          print(record);
        }
        if (shown.size > 100_000) shown.clear();
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  } finally {
    await close();
  }
}

/** An evaluation writes its records up to its per-target timeout after their start time. */
const followLookbackMs = 5 * 60_000;

// STATUS is as wide as its longest value ("Successful"); why a record did not scale leads the REASON column.
const columns = [19, 18, 34, 9, 10, 8];
function row(r: StoredAuditRecord | undefined): string {
  const cells = r
    ? [
        r.startedAt.replace('T', ' ').slice(0, 19),
        r.policyId,
        r.target,
        r.action,
        r.status,
        `${r.currentReplicas ?? '?'}→${r.desiredReplicas ?? '?'}`,
        [r.status === 'NotScaled' && r.notScaledReason ? `${r.notScaledReason}:` : '', r.error ? `error: ${r.error}` : (r.reason ?? '')].filter(Boolean).join(' '),
      ]
    : ['TIME (UTC)', 'POLICY', 'TARGET', 'ACTION', 'STATUS', 'REPLICAS', 'REASON'];
  return cells.map((c, i) => (i < columns.length ? fit(c, columns[i]!) : c)).join('  ');
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** The table row formatter, shared with `autoscaler demo` (undefined prints the header). */
export { row as formatAuditRow };
