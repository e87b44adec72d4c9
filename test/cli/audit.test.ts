import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../shared/audit/record.ts';
import { run } from '../../cli/commands/audit.ts';
import { openLocalStore, serveLocalStore } from '../../shared/local/store.ts';

let dir: string;
let out: string[];
let err: string[];

function record(minutesAgo: number, fields: Partial<AuditRecord> = {}): AuditRecord {
  const startedAt = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  return {
    activityId: crypto.randomUUID(),
    policyId: 'web',
    policyVersion: 1,
    target: 'docker/edge-1/web',
    trigger: { type: 'schedule' },
    inputs: [{ metric: 'jobs', value: 25, timestamp: startedAt }],
    currentReplicas: 2,
    rawDesired: 3,
    desiredReplicas: 3,
    action: 'scaleOut',
    status: 'Successful',
    reason: 'jobs 25 ≥ 20 → 3; scale out 2 → 3',
    startedAt,
    endedAt: startedAt,
    ...fields,
  };
}

async function seed(records: AuditRecord[]): Promise<void> {
  const store = await openLocalStore(join(dir, 'store'));
  for (const r of records) await store.stores.audit.put(r);
  await store.close();
}

async function cli(...args: string[]): Promise<number> {
  out.length = 0;
  err.length = 0;
  return run([...args, '--local', join(dir, 'store')]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-cli-'));
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('autoscaler audit (local store on dynalite)', () => {
  it('prints a readable table, newest first, of the last 24 h by default', async () => {
    // Prepare
    await seed([record(30), record(10, { action: 'none', status: 'NotScaled', notScaledReason: 'Stabilization', desiredReplicas: 3, currentReplicas: 3 }), record(60 * 30)]);
    // Act
    const code = await cli();
    // Assess
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^TIME \(UTC\)\s+POLICY\s+TARGET\s+ACTION\s+STATUS\s+REPLICAS\s+REASON$/);
    expect(out).toHaveLength(3);
    expect(out[1]).toMatch(/web\s+docker\/edge-1\/web\s+none\s+NotScaled\s+3→3\s+Stabilization: /);
    // The STATUS column is as wide as "Successful" plus the gap (it was 29 characters).
    expect(out[0]).toMatch(/STATUS {6}REPLICAS/);
    expect(out[2]).toMatch(/scaleOut\s+Successful\s+2→3\s+jobs 25/);
  });

  it('filters by policy, target, time, status and action; --json prints JSON lines', async () => {
    // Prepare
    await seed([
      record(5, { policyId: 'api', target: 'docker/edge-1/api' }),
      record(20, { status: 'Failed', error: 'boom' }),
      record(50),
      record(60 * 3),
    ]);
    // Act
    const byPolicy = await cli('--policy', 'web', '--since', '2h', '--json');
    const policyLines = out.map((l) => JSON.parse(l) as AuditRecord);
    await cli('--target', 'docker/edge-1/web', '--status', 'Failed', '--json');
    const failed = out.map((l) => JSON.parse(l) as AuditRecord);
    await cli('--from', new Date(Date.now() - 4 * 3_600_000).toISOString(), '--to', new Date(Date.now() - 2 * 3_600_000).toISOString(), '--json');
    const window = out.map((l) => JSON.parse(l) as AuditRecord);
    await cli('--action', 'scaleIn', '--json');
    const none = [...out];
    // Assess
    expect(byPolicy).toBe(0);
    expect(policyLines.map((r) => r.status)).toEqual(['Failed', 'Successful']);
    expect(failed.map((r) => r.error)).toEqual(['boom']);
    expect(window).toHaveLength(1);
    expect(none).toEqual([]);
  });

  it('rejects bad options with a clear message', async () => {
    // Act
    const badStatus = await cli('--status', 'Done');
    const statusErr = err.join('\n');
    const badSince = await cli('--since', 'yesterday');
    const sinceErr = err.join('\n');
    const help = await run(['--help']);
    // Assess
    expect(badStatus).toBe(2);
    expect(statusErr).toContain('--status: "Done" is not allowed (allowed: Successful, Failed, DryRun, NotScaled)');
    expect(badSince).toBe(2);
    expect(sinceErr).toContain('"yesterday" is not a duration');
    expect(help).toBe(0);
  });

  it('--follow prints new records as they arrive until Ctrl-C, reading a store served by `autoscaler local`', async () => {
    // Prepare: a running local store (as `autoscaler local` would hold it).
    const served = await serveLocalStore(join(dir, 'store'));
    try {
      await served.stores.audit.put(record(10, { policyId: 'old' }));
      // Act
      const following = cli('--follow', '--interval', '1s', '--json');
      for (let i = 0; i < 100 && out.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
      await served.stores.audit.put(record(0, { policyId: 'new-1' }));
      await served.stores.audit.put(record(0, { policyId: 'new-2' }));
      for (let i = 0; i < 150 && out.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
      process.emit('SIGINT');
      const code = await following;
      // Assess
      expect(code).toBe(0);
      expect(out.map((l) => (JSON.parse(l) as AuditRecord).policyId)).toEqual(['old', 'new-1', 'new-2']);
    } finally {
      await served.close();
    }
  });
});
