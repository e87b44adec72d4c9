/**
 * Alarm storm with concurrent schedule ticks, old evaluation core (one pass with barriers between phases) beside the new
 * one, in one run, on the same storm: 1,000 SNS deliveries over 50 targets (20% redeliveries of an
 * earlier message, half of them right behind it), spread over 20 simulated minutes; every simulated
 * minute a schedule tick evaluates all 50 targets at the same time as that minute's deliveries
 * (20 deliveries at a time, as concurrent Lambda invocations). dynalite in-process, in-memory target.
 *
 * Every policy is AWS step scaling (+2 while the metric / alarm breaches) with a 120 s cooldown, so
 * a target may scale out at most once per 120 s: two scale-outs of one target less than 120 s
 * apart are a double action inside a cooldown. 2% of audit puts fail (throttling that outlasted the
 * SDK's retries, chosen deterministically) in both runs; an action whose record never reaches the
 * audit table — not even on a later evaluation — is an action without a record.
 * Goal for the new core: 0 and 0.
 */
import { noEndpoints } from '../shared/config/endpoints.ts';
import { evaluate } from '../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../shared/evaluate/policies.ts';
import type { EvaluationOptions, EvaluationTrigger, SelectedPolicy, StoredPolicy } from '../shared/evaluate/types.ts';
import { startDynalite } from '../shared/local/dynalite.ts';
import type { MemoryTargetSpec } from '../shared/plugins/targets/memory/descriptor.ts';
import type { PluginContext, ScaleRequest } from '../shared/plugins/types.ts';
import { Policy, targetKey } from '../shared/policy/schema.ts';
import { documentClient, localClient, storesFor, type Stores } from '../shared/state/client.ts';
import { createTables } from '../shared/state/create.ts';
import { localTableNames } from '../shared/state/tables.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from '../test/evaluate/fakes.ts';
import { evaluate as evaluateBefore } from './legacy/evaluate-before-issue-9.ts';
import { printTable } from './table.ts';

const targets = 50;
const deliveries = 1_000;
const duplicateShare = 0.2;
const minutes = 20;
const concurrency = 20;
const cooldownSeconds = 120;
const auditFailureShare = 0.02;

interface Delivery {
  readonly messageId: string;
  readonly target: number;
  readonly duplicate: boolean;
}

/** Deterministic pseudo-random numbers, so both runs see the same storm. */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

function storm(): Delivery[] {
  const next = random(42);
  const list: Delivery[] = [];
  const uniques = Math.round(deliveries * (1 - duplicateShare));
  for (let i = 0; i < uniques; i++) list.push({ messageId: `msg-${i}`, target: i % targets, duplicate: false });
  for (let d = 0; d < deliveries - uniques; d++) {
    const original = list.filter((x) => !x.duplicate)[Math.floor(next() * uniques)]!;
    const at = list.indexOf(original);
    // Half right behind the original (concurrent with it), half much later.
    const position = d % 2 === 0 ? at + 1 : Math.min(list.length, at + 100 + Math.floor(next() * 300));
    list.splice(position, 0, { ...original, duplicate: true });
  }
  return list;
}

type Evaluate = (policies: readonly SelectedPolicy[], trigger: EvaluationTrigger, stores: Stores, options: EvaluationOptions) => Promise<unknown>;

/** The in-memory target, remembering when (simulated) each scale happened. */
class TimedTarget extends MemoryTarget {
  readonly timed: Array<{ target: string; at: number; desired: number }> = [];
  clock = 0;
  override async scale(request: ScaleRequest<MemoryTargetSpec>, desired: number, ctx: PluginContext) {
    this.timed.push({ target: targetKey(request.target), at: this.clock, desired });
    return super.scale(request, desired, ctx);
  }
}

async function run(label: string, evaluateWith: Evaluate, plan: Delivery[]) {
  const server = await startDynalite();
  const client = localClient(server.endpoint);
  await createTables(client, localTableNames);
  const stores = storesFor(documentClient(client), localTableNames);
  const target = new TimedTarget();
  const metrics = new MemoryMetrics();
  const registry = memoryRegistry(target, metrics);
  for (let t = 0; t < targets; t++) {
    metrics.values.set(`queue:svc-${t}`, 20);
    const policy = Policy.parse(
      stepsPolicy(`storm-${t}`, `svc-${t}`, {
        capacity: { min: 1, max: 10_000 },
        alarms: [`alarm-${t}`],
        rule: { type: 'stepAdjust', metric: 'jobs', threshold: 10, adjustments: [{ lower: 0, adjustment: 2 }], cooldownSeconds },
      }),
    );
    await stores.policies.put(policy, 0);
  }
  // 2% of audit puts fail, the same ones in both runs (by order of arrival).
  const failing = random(7);
  const realPut = stores.audit.put.bind(stores.audit);
  let refused = 0;
  stores.audit.put = async (record) => {
    if (failing() < auditFailureShare) {
      refused++;
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
    }
    return realPut(record);
  };

  let clock = Date.parse('2026-12-01T00:00:00Z');
  const options: EvaluationOptions = { registry, endpoints: noEndpoints, ceiling: 10_000, owner: label, log: () => {}, now: () => clock };
  const started = performance.now();
  const perMinute = Math.ceil(plan.length / minutes);
  for (let minute = 0; minute <= minutes; minute++) {
    clock += 60_000;
    target.clock = clock;
    const batch = plan.slice(minute * perMinute, (minute + 1) * perMinute);
    let next = 0;
    const alarms = Array.from({ length: concurrency }, async () => {
      while (next < batch.length) {
        const delivery = batch[next++]!;
        const alarmName = `alarm-${delivery.target}`;
        const trigger: EvaluationTrigger = { type: 'alarm', id: delivery.messageId, messageId: delivery.messageId, alarmName, alarmState: 'ALARM', alarm: { name: alarmName, state: 'ALARM', threshold: 10, value: 20 } };
        await evaluateWith(await policiesForTrigger(trigger, stores.policies), trigger, stores, options);
      }
    });
    // The tick of this minute (the last "minute" is a final tick only, so pending records get their chance).
    const tick = (async () => evaluateWith((await policiesForTrigger({ type: 'schedule' }, stores.policies)) as StoredPolicy[], { type: 'schedule', id: `tick-${minute}` }, stores, options))();
    await Promise.all([...alarms, tick]);
  }
  // The storm is over: the metric drops below the threshold and one more tick runs, so the last
  // minute's pending records (if any) get their next evaluation too.
  for (let t = 0; t < targets; t++) metrics.values.set(`queue:svc-${t}`, 0);
  clock += 60_000;
  target.clock = clock;
  await evaluateWith((await policiesForTrigger({ type: 'schedule' }, stores.policies)) as StoredPolicy[], { type: 'schedule', id: 'tick-settle' }, stores, options);
  stores.audit.put = realPut;
  const seconds = (performance.now() - started) / 1000;

  let doubleActions = 0;
  let unrecorded = 0;
  for (let t = 0; t < targets; t++) {
    const key = `memory/svc-${t}`;
    const calls = target.timed.filter((c) => c.target === key);
    for (let i = 1; i < calls.length; i++) if (calls[i]!.at - calls[i - 1]!.at < cooldownSeconds * 1000) doubleActions++;
    const recorded = (await stores.audit.list({ target: key })).filter((r) => r.action === 'scaleOut' || r.action === 'scaleIn');
    unrecorded += Math.max(0, calls.length - recorded.length);
  }
  client.destroy();
  await server.close();
  return { actions: target.timed.length, doubleActions, unrecorded, refused, seconds };
}

export default async function alarmStorm(): Promise<void> {
  const plan = storm();
  const before = await run('before', evaluateBefore as unknown as Evaluate, plan);
  const after = await run('after', evaluate, plan);
  console.log(
    `${deliveries} deliveries (${Math.round(duplicateShare * 100)}% redeliveries) over ${targets} targets in ${minutes} simulated minutes, a schedule tick every minute concurrent with the deliveries (${concurrency} at a time); step scaling +2 with a ${cooldownSeconds} s cooldown; ${Math.round(auditFailureShare * 100)}% of audit puts refused; dynalite in-process, in-memory target\n`,
  );
  const row = (metric: string, pick: (r: typeof before) => number | string) => ({ metric, 'previous core (one pass, phase barriers)': pick(before), 'per-target reconcile': pick(after) });
  printTable([
    row('scale actions taken', (r) => r.actions),
    row('double actions inside a cooldown (goal 0)', (r) => r.doubleActions),
    row('actions without an audit record (goal 0)', (r) => r.unrecorded),
    row('audit puts refused (injected)', (r) => r.refused),
    row('wall time, s', (r) => r.seconds),
  ]);
  console.log(`\nA double action: two scale-outs of one target less than ${cooldownSeconds} s (simulated) apart. An action without a record: a scale call with no scaleOut/scaleIn record in the audit table after the final tick (the new core stores a refused record from the lease's intent on the target's next evaluation, details.recovered).`);
}
