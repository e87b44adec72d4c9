/**
 * Issue 9's scenario: one evaluation over four targets, three of them each with one fault —
 * an invalid stored policy, a black-holed Docker host (a real TCP listener that accepts and never
 * answers, behind the real Docker target plug-in), an audit table that rejects one put — and one
 * healthy target. On dynalite; the healthy and the audit-fault targets use the in-memory target.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { evaluate } from '../../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../../shared/evaluate/policies.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { startTestStores, type TestStores } from '../state/setup.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from './fakes.ts';

let db: TestStores;
let blackHole: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await startTestStores();
  blackHole = createServer((socket) => void sockets.push(socket)); // accepts, never answers
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => blackHole.close(resolve));
  await db.close();
});

it('scenario (dynalite, black-holed TCP host, in-memory targets): the healthy target is decided and audited on time, and every action is recorded (the rejected one on the next evaluation)', async () => {
  // Prepare
  const memory = new MemoryTarget();
  const metrics = new MemoryMetrics();
  // The memory target serves the memory policies; the dead host's goes to the registered (real) Docker target.
  const registry = memoryRegistry(memory, metrics);
  const endpoints = { ...noEndpoints, docker: { blackhole: { host: `tcp://127.0.0.1:${(blackHole.address() as AddressInfo).port}` } } };
  const healthy = Policy.parse(stepsPolicy('healthy', 'healthy-svc'));
  const rejected = Policy.parse(stepsPolicy('audit-rejects', 'rejects-svc'));
  const deadHost = Policy.parse(stepsPolicy('dead-host', 'dead-svc', { target: { type: 'docker', endpoint: 'blackhole', service: 'dead-svc' } }));
  for (const p of [healthy, rejected, deadHost]) await db.stores.policies.put(p, 0);
  const invalid = { ...stepsPolicy('invalid', 'invalid-svc'), capacity: { min: 5, max: 2 } };
  await db.doc.send(new PutCommand({ TableName: db.names.policies, Item: { pk: 'policies', sk: 'policy#invalid', id: 'invalid', version: 1, enabled: true, document: JSON.stringify(invalid), updatedAt: new Date().toISOString() } }));
  for (const service of ['healthy-svc', 'rejects-svc', 'dead-svc']) metrics.values.set(`queue:${service}`, 25);
  const readTimeoutMs = 3_000;
  const options = { registry, endpoints, ceiling: 100, owner: 'scenario', log: () => {}, readTimeoutMs };
  const realPut = db.stores.audit.put.bind(db.stores.audit);
  const started = Date.now();
  const storedAt = new Map<string, number>();
  let rejectedOnce = false;
  db.stores.audit.put = async (record) => {
    if (record.policyId === 'audit-rejects' && record.action === 'scaleOut' && !rejectedOnce) {
      rejectedOnce = true;
      throw Object.assign(new Error('Throughput exceeds the current capacity of your table'), { name: 'ThrottlingException' });
    }
    const result = await realPut(record);
    if (!storedAt.has(record.policyId)) storedAt.set(record.policyId, Date.now() - started);
    return result;
  };

  // Act
  let first;
  try {
    first = await evaluate(await policiesForTrigger({ type: 'schedule' }, db.stores.policies), { type: 'schedule', id: 'scenario-tick-1' }, db.stores, options);
  } finally {
    db.stores.audit.put = realPut;
  }
  const second = await evaluate(await policiesForTrigger({ type: 'schedule' }, db.stores.policies), { type: 'schedule', id: 'scenario-tick-2' }, db.stores, options);

  // Assess
  const firstBy = Object.fromEntries(first.records.map((r) => [r.policyId, r]));
  expect(firstBy.healthy).toMatchObject({ status: 'Successful', action: 'scaleOut', desiredReplicas: 3 });
  expect(storedAt.get('healthy')).toBeLessThan(readTimeoutMs); // on time: not after the dead host's read gave up
  expect(firstBy.invalid).toMatchObject({ status: 'NotScaled', notScaledReason: 'PolicyInvalid' });
  expect(firstBy['dead-host']).toMatchObject({ status: 'Failed', error: expect.stringMatching(/reading the target/) });
  expect(firstBy['audit-rejects']).toBeUndefined();
  expect(rejectedOnce).toBe(true);
  // Every action has exactly one record once the next evaluation has run.
  const actionsByTarget = new Map<string, number>();
  for (const call of memory.scaleCalls) actionsByTarget.set(call.target, (actionsByTarget.get(call.target) ?? 0) + 1);
  for (const [key, actions] of actionsByTarget) {
    const recorded = (await db.stores.audit.list({ target: key })).filter((r) => r.action === 'scaleOut' || r.action === 'scaleIn');
    expect(recorded.length, `records of actions on ${key}`).toBe(actions);
  }
  expect(second.records.find((r) => r.policyId === 'audit-rejects' && (r.details as { recovered?: boolean } | undefined)?.recovered)).toMatchObject({ status: 'Successful', desiredReplicas: 3 });
  expect([...actionsByTarget.keys()].sort()).toEqual(['memory/healthy-svc', 'memory/rejects-svc']);
});
