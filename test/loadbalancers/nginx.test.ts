import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { localNginxControl, firstFileOfTar, tarOneFile } from '../../shared/plugins/loadbalancers/nginx/control.ts';
import { NginxUpstream, parseUpstream, renderUpstream } from '../../shared/plugins/loadbalancers/nginx/loadbalancer.ts';
import { describeWithServices } from '../support/services.ts';
import { loadLoop, startMember, waitFor } from './http-members.ts';
import type { HttpMember } from './http-members.ts';

describeWithServices('nginx load balancer (real nginx, local process control)', ['NGINX_PREFIX', 'NGINX_CONF', 'NGINX_UPSTREAM_FILE', 'NGINX_URL'], () => {
  const file = process.env.NGINX_UPSTREAM_FILE!;
  const url = `${process.env.NGINX_URL}/`;
  const control = localNginxControl({ prefix: process.env.NGINX_PREFIX!, conf: process.env.NGINX_CONF! });
  const nginx = new NginxUpstream({ upstream: 'web', file }, control);
  let original: string;
  let members: HttpMember[] = [];

  beforeAll(() => {
    original = readFileSync(file, 'utf8');
  });
  afterEach(async () => {
    await Promise.all(members.map((m) => m.close()));
    members = [];
  });
  afterAll(async () => {
    writeFileSync(file, original);
    await control.reload();
  });

  it('register renders the upstream, reloads, and traffic reaches every member; drain under load loses no request (one connection per request; a GET reset by a retiring worker is retried once, as HTTP clients do)', async () => {
    // Prepare
    members = [await startMember('n-b', 5), await startMember('n-a', 5)];

    // Act
    // The workers of the previous configuration (whose upstream is a closed port) accept
    // connections until the master's QUIT reaches them; the load starts once they have exited.
    const firstWorkers = workerPids();
    const registered = await nginx.register(members);
    await waitFor(() => !anyAlive(firstWorkers), 10_000, 'the previous nginx workers to exit');
    await waitFor(async () => (await fetch(url).then((r) => r.text(), () => ''), members.every((m) => m.hits > 0)), 5_000, 'both members to serve through nginx');
    const load = loadLoop(url, 4, { newConnectionEach: true, retryResetOnce: true });
    await waitFor(() => members.every((m) => m.hits > 5), 5_000, 'load on both members');
    const servingWorkers = workerPids();
    const drained = await nginx.drain([members[0]!]);
    // Old workers finish the requests they hold (a graceful reload is the drain), then exit;
    // only then is a hit on the drained member a stray one.
    await waitFor(() => !anyAlive(servingWorkers), 10_000, 'the old nginx workers to exit');
    const settled = members[1]!.hits + 20;
    await waitFor(() => members[1]!.hits > settled, 5_000, 'more traffic after the old workers exited');
    const hitsAfterDrain = members[0]!.hits;
    await waitFor(() => members[1]!.hits > settled + 30, 5_000, 'more traffic on the remaining member');
    await load.stop();

    // Assess
    expect(registered).toMatchObject({ reloaded: true, added: ['n-a', 'n-b'], removed: [] });
    expect(drained).toMatchObject({ reloaded: true, added: [], removed: ['n-b'] });
    expect(readFileSync(file, 'utf8')).toBe(renderUpstream('web', [members[1]!]));
    expect(load.failures).toEqual([]);
    expect(members[0]!.hits).toBe(hitsAfterDrain);
  });

  it('a configuration nginx rejects is rolled back: previous file in place, no reload, nginx still serving, error carries nginx\'s message', async () => {
    // Prepare
    members = [await startMember('n-good')];
    await nginx.reconcile(members);
    await waitFor(async () => (await fetch(url).then((r) => r.text(), () => '')) === 'n-good', 5_000, 'n-good to serve');
    const before = readFileSync(file, 'utf8');

    // Act: a well-formed host name that does not resolve passes our checks but fails `nginx -t`.
    const attempt = nginx.register([{ name: 'n-broken', address: 'no-such-host.invalid', port: 8080 }]);

    // Assess
    await expect(attempt).rejects.toThrow(/configuration test failed, .*web-upstream\.conf restored and nginx not reloaded: .*host not found in upstream "no-such-host\.invalid:8080"/s);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('n-good');
  });

  it('reconcile makes the upstream hold exactly the members, and does not reload when nothing changed', async () => {
    // Prepare
    members = [await startMember('r-1'), await startMember('r-2')];
    await nginx.reconcile([members[0]!, { name: 'stale', address: '127.0.0.1', port: 9 }]);

    // Act
    const first = await nginx.reconcile(members);
    const second = await nginx.reconcile(members);

    // Assess
    expect(first).toMatchObject({ reloaded: true, added: ['r-2'], removed: ['stale'] });
    expect(second).toMatchObject({ reloaded: false, added: [], removed: [] });
    expect(parseUpstream(readFileSync(file, 'utf8')).map((m) => m.name)).toEqual(['r-1', 'r-2']);
  });
});

/** The pids of the test nginx's workers now (a reload replaces them: the old ones exit once idle). */
function workerPids(): number[] {
  const master = readFileSync(`${process.env.NGINX_PREFIX}/nginx.pid`, 'utf8').trim();
  const out = spawnSync('pgrep', ['-P', master], { encoding: 'utf8' }).stdout;
  const pids = out.split('\n').filter(Boolean).map(Number);
  if (pids.length === 0) throw new Error(`nginx master ${master} has no workers`);
  return pids;
}

function anyAlive(pids: ReadonlyArray<number>): boolean {
  return pids.some((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

it('renderUpstream is deterministic, validates members, and round-trips through parseUpstream (no nginx needed)', () => {
  // Prepare
  const a = { name: 'web-a', address: '10.0.0.2', port: 8080 };
  const b = { name: '/web-b', address: 'fd00::2', port: 8081 };

  // Act
  const one = renderUpstream('web', [b, a]);
  const two = renderUpstream('web', [a, b]);

  // Assess
  expect(one).toBe(two);
  expect(one).toContain('upstream web {\n    server 10.0.0.2:8080; # web-a\n    server [fd00::2]:8081; # web-b\n}\n');
  expect(parseUpstream(one)).toEqual([a, { ...b, name: 'web-b' }]);
  expect(renderUpstream('web', [])).toContain('server 127.0.0.1:9 down;');
  expect(parseUpstream(renderUpstream('web', []))).toEqual([]);
  expect(() => renderUpstream('web', [{ name: 'x', address: '10.0.0.1; include /etc/passwd', port: 80 }])).toThrow(/address "10.0.0.1; include/);
  expect(() => renderUpstream('web', [{ name: 'x\n}', address: '10.0.0.1', port: 80 }])).toThrow(/member name/);
  expect(() => renderUpstream('web;', [a])).toThrow(/upstream "web;"/);
});

it('tarOneFile / firstFileOfTar round-trip the one file the docker-exec control moves (no Docker needed)', () => {
  // Act
  const archive = tarOneFile('web-upstream.conf', 'upstream web {\n    server 10.0.0.2:8080;\n}\n');

  // Assess
  expect(archive.length % 512).toBe(0);
  expect(firstFileOfTar(archive)).toBe('upstream web {\n    server 10.0.0.2:8080;\n}\n');
});
