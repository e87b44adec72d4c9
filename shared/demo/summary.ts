/** The demo's figures and status line: pure functions over what the run observed. */
import type { AuditRecord } from '../audit/record.ts';

export interface DemoSummary {
  readonly scaleOuts: number;
  readonly scaleIns: number;
  readonly peakReplicas: number;
  readonly underProvisionedSeconds: number;
  readonly failedRequests: number;
}

/** Replica counts as the run saw them, in time order: [second of the run, replicas from then on]. */
export type ReplicaTimeline = ReadonlyArray<readonly [number, number]>;

/** Replicas at second `t`: the last count recorded at or before `t` (the first one before any). */
export function replicasAt(timeline: ReplicaTimeline, t: number): number {
  let replicas = timeline[0]?.[1] ?? 0;
  for (const [at, count] of timeline) {
    if (at > t) break;
    replicas = count;
  }
  return replicas;
}

/**
 * Seconds whose demand exceeded capacity: second s counts when the requests sent in it exceed
 * `perReplica × (1 + slack) × replicas(s)`. The slack is the policy's tolerance, the band in which
 * the engine itself would not act.
 */
export function underProvisionedSeconds(sentPerSecond: readonly number[], timeline: ReplicaTimeline, perReplica: number, slack: number): number {
  let count = 0;
  sentPerSecond.forEach((sent, second) => {
    if (sent > perReplica * (1 + slack) * replicasAt(timeline, second)) count++;
  });
  return count;
}

export function countActions(records: readonly AuditRecord[]): { scaleOuts: number; scaleIns: number } {
  let scaleOuts = 0;
  let scaleIns = 0;
  for (const r of records) {
    if (r.status !== 'Successful') continue;
    if (r.action === 'scaleOut') scaleOuts++;
    if (r.action === 'scaleIn') scaleIns++;
  }
  return { scaleOuts, scaleIns };
}

export function summarize(records: readonly AuditRecord[], timeline: ReplicaTimeline, sentPerSecond: readonly number[], failedRequests: number, perReplica: number, slack: number): DemoSummary {
  return {
    ...countActions(records),
    peakReplicas: Math.max(0, ...timeline.map(([, replicas]) => replicas)),
    underProvisionedSeconds: underProvisionedSeconds(sentPerSecond, timeline, perReplica, slack),
    failedRequests,
  };
}

export interface StatusFields {
  readonly seconds: number;
  readonly load: number;
  readonly replicas: number;
  readonly sessions: number | null;
  readonly rate: number | null;
  readonly failed: number;
  readonly lastAction: string;
}

export function statusLine(s: StatusFields): string {
  const metric = (v: number | null) => (v === null ? '-' : String(Math.round(v * 10) / 10));
  return [
    `t=${String(Math.round(s.seconds)).padStart(3)}s`,
    `load=${s.load.toFixed(1).padStart(5)} req/s`,
    `replicas=${s.replicas}`,
    `scur=${metric(s.sessions).padStart(3)}`,
    `rate=${metric(s.rate).padStart(4)}/s`,
    `failed=${s.failed}`,
    `last: ${s.lastAction}`,
  ].join('  ');
}

/** "scaleOut 1→3 at 12s", from an acting audit record, or undefined for one that did not act. */
export function describeAction(record: AuditRecord, seconds: number): string | undefined {
  if (record.action === 'none') return undefined;
  const to = record.status === 'Successful' ? record.desiredReplicas : null;
  const change = record.currentReplicas !== null && to !== null ? ` ${record.currentReplicas}→${to}` : '';
  const failed = record.status === 'Successful' ? '' : ` (${record.status}${record.error ? `: ${record.error}` : ''})`;
  return `${record.action}${change} at ${Math.round(seconds)}s${failed}`;
}
