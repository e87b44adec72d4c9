/**
 * One evaluation: each target reconciled on its own (shared/reconcile/target.ts), started
 * independently, at most `parallelism` at a time, sharing one metric batcher. The guarantees are
 * the contract in ./types.ts.
 */
import { buildRecord } from '../audit/build.ts';
import type { AuditRecord } from '../audit/record.ts';
import type { MetricSource } from '../plugins/types.ts';
import { isBatchedSource } from '../plugins/catalog.ts';
import { load } from '../plugins/registry.ts';
import { targetKey } from '../policy/schema.ts';
import { limitsFor } from '../reconcile/deadline.ts';
import { MetricBatcher, metricRequestsOf } from '../reconcile/metrics.ts';
import { reconcileTarget, toAuditTrigger, type TargetJob } from '../reconcile/target.ts';
import type { AuditStore } from '../state/audit.ts';
import type { StateStore } from '../state/state.ts';
import type { PluginStateStore } from '../plugins/types.ts';
import { isInvalid, type EvaluationOptions, type EvaluationResult, type EvaluationTrigger, type InvalidStoredPolicy, type SelectedPolicy, type StoredPolicy } from './types.ts';

export interface EvaluationStores {
  readonly state: StateStore;
  readonly audit: AuditStore;
  /** Durable plug-in state (the state table); without it plug-ins keep their state in process memory. */
  readonly pluginState?: PluginStateStore;
}

const defaultParallelism = 10;

export async function evaluate(
  selected: readonly SelectedPolicy[],
  trigger: EvaluationTrigger,
  stores: EvaluationStores,
  options: EvaluationOptions,
): Promise<EvaluationResult> {
  if (stores.pluginState && !options.pluginState) options = { ...options, pluginState: stores.pluginState };
  const now = options.now ?? Date.now;
  const log = options.log ?? ((message: string) => console.warn(message));

  // Stored policies that no longer validate: each gets its own record; nothing else is held up.
  const invalidRecords = await recordInvalid(selected.filter(isInvalid), trigger, stores.audit, now, log);

  const jobs = groupByTarget(selected.filter((s): s is StoredPolicy => !isInvalid(s)));
  const batcher = new MetricBatcher(
    async (source, requests, signal) => (await load<MetricSource>('metricSources', source, options.registry)).fetch(requests, { endpoints: options.endpoints, signal, ...(options.getSecret ? { getSecret: options.getSecret } : {}) }),
    { fetchTimeoutMs: limitsFor([], { ...(options.readTimeoutMs !== undefined ? { readTimeoutMs: options.readTimeoutMs } : {}), ...(options.targetTimeoutMs !== undefined ? { targetTimeoutMs: options.targetTimeoutMs } : {}) }).readMs },
  );
  // Sources that answer many requests in one call regardless of the targets: asked for up front.
  batcher.prefetch(jobs.flatMap((job) => job.policies.flatMap(({ policy }) => metricRequestsOf(policy, (m) => isBatchedSource(m.source)))));
  const recordsByTarget = new Map<string, AuditRecord[]>();
  await runBounded(jobs, Math.max(1, options.parallelism ?? defaultParallelism), async (job) => {
    recordsByTarget.set(job.key, await reconcileTarget(job, { state: stores.state, audit: stores.audit, options, trigger, batcher, now, log }));
  });
  return { records: [...invalidRecords, ...jobs.flatMap((job) => recordsByTarget.get(job.key) ?? [])] };
}

/** Enabled policies by target, in a stable order (targets by key, policies by id). */
function groupByTarget(policies: readonly StoredPolicy[]): TargetJob[] {
  const groups = new Map<string, StoredPolicy[]>();
  for (const stored of [...policies].sort((a, b) => a.policy.id.localeCompare(b.policy.id))) {
    if (!stored.policy.enabled) continue;
    const key = targetKey(stored.policy.target);
    groups.set(key, [...(groups.get(key) ?? []), stored]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => ({ key, policies: list }));
}

async function recordInvalid(invalid: readonly InvalidStoredPolicy[], trigger: EvaluationTrigger, audit: AuditStore, now: () => number, log: (message: string) => void): Promise<AuditRecord[]> {
  const written: AuditRecord[] = [];
  for (const entry of invalid) {
    if (!entry.enabled) continue;
    const at = new Date(now()).toISOString();
    const record = buildRecord({
      policyId: entry.id,
      policyVersion: entry.version,
      target: entry.target,
      trigger: toAuditTrigger(trigger),
      action: 'none',
      status: 'NotScaled',
      notScaledReason: 'PolicyInvalid',
      reason: `the stored policy (version ${entry.version}) no longer validates; fix it with \`autoscaler policy apply\` or remove it with \`autoscaler policy delete ${entry.id}\``,
      details: { problems: entry.problems },
      startedAt: at,
      endedAt: at,
    });
    try {
      await audit.put(record);
      written.push(record);
    } catch (error) {
      log(`audit write failed for invalid policy ${entry.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return written;
}

async function runBounded<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await worker(items[next++]!);
  });
  await Promise.all(runners);
}
