import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runLocal } from '../../cli/commands/local.ts';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { endpointsFromEnvironment } from '../../shared/local/endpoints.ts';
import { openLocalStore } from '../../shared/local/store.ts';
import { MemoryMetrics, MemoryTarget, memoryRegistry, stepsPolicy } from './fakes.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-mode-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('autoscaler local (dynalite under --data DIR, in-memory target)', () => {
  it('applies the policies, evaluates on a timer, shares its store while running, stops cleanly and keeps the data', async () => {
    // Prepare
    const target = new MemoryTarget();
    const metrics = new MemoryMetrics();
    metrics.values.set('queue:web', 25);
    const file = join(dir, 'policies.yaml');
    await writeFile(file, stringify(stepsPolicy('web', 'web')));
    const lines: string[] = [];
    const stop = new AbortController();
    const data = join(dir, 'data');
    // Act
    const running = runLocal({ policies: [file], intervalMs: 50, dataDir: data, endpoints: noEndpoints, ceiling: 100, once: false, registry: memoryRegistry(target, metrics), signal: stop.signal, print: (l) => lines.push(l) });
    for (let i = 0; i < 200 && lines.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const whileRunning = await openLocalStore(data); // what `autoscaler policy list --local DIR` does
    const listed = await whileRunning.stores.policies.list();
    await whileRunning.close();
    stop.abort();
    const code = await running;
    const endpointLeft = await access(join(data, 'endpoint')).then(() => true, () => false);
    const reopened = await openLocalStore(data);
    const audit = await reopened.stores.audit.list({ policyId: 'web' });
    await reopened.close();
    // Assess
    expect(code).toBe(0);
    expect(whileRunning.serving).toBe(false);
    expect(listed.map((r) => r.policy.id)).toEqual(['web']);
    expect(lines[0]).toMatch(/policies: 1 added/);
    expect(lines[1]).toMatch(/tick 1: 1 policy; 1 scaled, 0 not scaled, 0 dry run, 0 failed .*; web 1→3/);
    expect(endpointLeft).toBe(false);
    expect(audit.at(-1)).toMatchObject({ status: 'Successful', desiredReplicas: 3 });
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  it('a store directory held by another live process that does not serve it is refused with a clear error', async () => {
    // Prepare: the parent process (alive, and not serving) claims the directory.
    const data = join(dir, 'held');
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'owner.pid'), `${process.ppid}\n`);
    // Act
    const opening = openLocalStore(data);
    // Assess
    await expect(opening).rejects.toThrow(`the local store in ${data} is in use by process ${process.ppid}`);
  });

  it('endpointsFromEnvironment maps DOCKER_HOST, HAPROXY_RUNTIME and REDIS_URL to endpoints named "local"', () => {
    // Act
    const endpoints = endpointsFromEnvironment({ DOCKER_HOST: 'unix:///var/run/docker.sock', HAPROXY_RUNTIME: '127.0.0.1:9999', REDIS_URL: 'redis://127.0.0.1:6379/0' });
    // Assess
    expect(endpoints.docker).toEqual({ local: { socket: '/var/run/docker.sock' } });
    expect(endpoints.haproxy).toEqual({ local: { address: '127.0.0.1:9999' } });
    expect(endpoints.redis).toEqual({ local: { url: 'redis://127.0.0.1:6379/0' } });
    expect(() => endpointsFromEnvironment({ REDIS_URL: 'redis://user:secret@host:6379' })).toThrow(/^REDIS_URL: /);
  });
});
