/**
 * Alarm storm: 1,000 SNS deliveries over 50 targets, 20% of them redeliveries of an earlier message
 * (some while the original is still running), against dynalite with an in-memory target. Each unique
 * delivery asks for +1 replica (stepAdjust, no cooldown), so every action is countable.
 * Side by side: deliveries handled one at a time, and 20 at a time (as concurrent Lambda invocations).
 */
import { noEndpoints } from '../shared/config/endpoints.ts';
import { evaluate } from '../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../shared/evaluate/policies.ts';
import type { EvaluationTrigger } from '../shared/evaluate/types.ts';
import { startDynalite } from '../shared/local/dynalite.ts';
import { Policy } from '../shared/policy/schema.ts';
import { documentClient, localClient, storesFor } from '../shared/state/client.ts';
import { createTables } from '../shared/state/create.ts';
import { localTableNames } from '../shared/state/tables.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from '../test/evaluate/fakes.ts';
import { printTable } from './table.ts';

const targets = 50;
const deliveries = 1_000;
const duplicateShare = 0.2;

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
    // Half right behind the original (concurrent with it when run 20 at a time), half much later.
    const position = d % 2 === 0 ? at + 1 : Math.min(list.length, at + 100 + Math.floor(next() * 300));
    list.splice(position, 0, { ...original, duplicate: true });
  }
  return list;
}

async function run(concurrency: number, plan: Delivery[]) {
  const server = await startDynalite();
  const client = localClient(server.endpoint);
  await createTables(client, localTableNames);
  const stores = storesFor(documentClient(client), localTableNames);
  const target = new MemoryTarget();
  const registry = memoryRegistry(target, new MemoryMetrics());
  for (let t = 0; t < targets; t++) {
    const policy = Policy.parse(
      stepsPolicy(`storm-${t}`, `svc-${t}`, {
        capacity: { min: 1, max: 10_000 },
        alarms: [`alarm-${t}`],
        rule: { type: 'stepAdjust', adjustments: [{ lower: 0, adjustment: 1 }], cooldownSeconds: 0 },
        behavior: { scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1000, periodSeconds: 15 }] } },
      }),
    );
    await stores.policies.put(policy, 0);
  }
  const outcomes: Array<{ delivery: Delivery; status: string; reason?: string }> = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < plan.length) {
        const delivery = plan[next++]!;
        const alarmName = `alarm-${delivery.target}`;
        const trigger: EvaluationTrigger = {
          type: 'alarm',
          id: delivery.messageId,
          messageId: delivery.messageId,
          alarmName,
          alarmState: 'ALARM',
          alarm: { name: alarmName, state: 'ALARM', threshold: 10, value: 20 },
        };
        const policies = await policiesForTrigger(trigger, stores.policies);
        const { records } = await evaluate(policies, trigger, stores, { registry, endpoints: noEndpoints, ceiling: 10_000, owner: `bench-${concurrency}`, log: () => {} });
        for (const r of records) outcomes.push({ delivery, status: r.status, ...(r.notScaledReason ? { reason: String(r.notScaledReason) } : {}) });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  let auditRecords = 0;
  for (let t = 0; t < targets; t++) auditRecords += (await stores.audit.list({ target: `docker/local/svc-${t}` })).length;
  client.destroy();
  await server.close();

  const actedByMessage = new Map<string, number>();
  for (const o of outcomes) if (o.status === 'Successful') actedByMessage.set(o.delivery.messageId, (actedByMessage.get(o.delivery.messageId) ?? 0) + 1);
  const actions = outcomes.filter((o) => o.status === 'Successful').length;
  const replicasAdded = [...target.replicas.values()].reduce((sum, r) => sum + r - 1, 0);
  return {
    actions,
    expected: new Set(plan.map((d) => d.messageId)).size,
    duplicateActions: [...actedByMessage.values()].filter((n) => n > 1).length,
    duplicateTrigger: outcomes.filter((o) => o.reason === 'DuplicateTrigger').length,
    neverActed: new Set(plan.map((d) => d.messageId)).size - actedByMessage.size,
    leaseHeldDuplicate: outcomes.filter((o) => o.reason === 'LeaseHeld' && o.delivery.duplicate).length,
    failed: outcomes.filter((o) => o.status === 'Failed').length,
    auditRecords,
    replicasAdded,
    seconds,
    throughput: plan.length / seconds,
  };
}

export default async function alarmStorm(): Promise<void> {
  const plan = storm();
  const sequential = await run(1, plan);
  const concurrent = await run(20, plan);
  console.log(`${deliveries} deliveries (${Math.round(duplicateShare * 100)}% redeliveries) over ${targets} targets; dynalite in-process, in-memory target\n`);
  const row = (metric: string, pick: (r: typeof sequential) => number | string) => ({ metric, 'one at a time': pick(sequential), '20 at a time': pick(concurrent) });
  printTable([
    row('unique triggers (expected actions)', (r) => r.expected),
    row('actions taken', (r) => r.actions),
    row('duplicate actions (must be 0)', (r) => r.duplicateActions),
    row('replicas added (must equal actions)', (r) => r.replicasAdded),
    row('redeliveries stopped: DuplicateTrigger', (r) => r.duplicateTrigger),
    row('redeliveries stopped: LeaseHeld', (r) => r.leaseHeldDuplicate),
    row('triggers never acted on (every delivery gave up waiting)', (r) => r.neverActed),
    row('failed', (r) => r.failed),
    row('audit records written', (r) => r.auditRecords),
    row('wall time, s', (r) => r.seconds),
    row('throughput, deliveries/s', (r) => r.throughput),
  ]);
  console.log(`\nAn alarm delivery that finds its target's lease held waits for it (up to 20 s, EvaluationOptions.alarmLeaseWaitMs) and then acts or, if another delivery of the same message acted meanwhile, records DuplicateTrigger; "never acted on" counts triggers whose every delivery gave up waiting.`);
}
