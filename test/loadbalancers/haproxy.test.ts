import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import type { Endpoints } from '../../shared/config/endpoints.ts';
import { runExpecting, runtimeTarget, showServersState, showStat } from '../../shared/haproxy/runtime.ts';
import { haproxyLoadBalancer, serverName, serverPrefix, targetServerPrefix } from '../../shared/plugins/loadbalancers/haproxy/loadbalancer.ts';
import type { PluginContext } from '../../shared/plugins/types.ts';
import { DockerTarget, HaproxyLoadBalancer } from '../../shared/policy/schema.ts';
import { describeWithServices } from '../support/services.ts';
import { loadLoop, startMember, waitFor } from './http-members.ts';
import type { HttpMember } from './http-members.ts';

describeWithServices('haproxy load balancer (real HAProxy 2.6 runtime API, real HTTP members)', ['HAPROXY_RUNTIME', 'HAPROXY_SOCKET', 'HAPROXY_FRONTEND', 'HAPROXY_BACKEND', 'HAPROXY_STATIC_SERVER'], () => {
  const backend = process.env.HAPROXY_BACKEND!;
  const frontendUrl = `http://${process.env.HAPROXY_FRONTEND}/`;
  const endpoints: Endpoints = {
    ...noEndpoints,
    haproxy: { tcp: { address: process.env.HAPROXY_RUNTIME! }, unix: { socket: process.env.HAPROXY_SOCKET! } },
  };
  const ctx: PluginContext = { endpoints, signal: new AbortController().signal };
  const target = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'web' });
  // A second service behind the same backend.
  const otherTarget = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'api' });
  const runtime = runtimeTarget('tcp', endpoints.haproxy.tcp!);
  const plugin = (endpoint = 'tcp', drainTimeoutSeconds = 10, owner = target) =>
    haproxyLoadBalancer.create(HaproxyLoadBalancer.parse({ type: 'haproxy', endpoint, backend, port: 8080, drainTimeoutSeconds }), owner, ctx);
  /** Our target's server name for a member. */
  const ours = (member: string) => serverName(member, target);
  const theirs = (member: string) => serverName(member, otherTarget);
  const testPrefixes = [targetServerPrefix(target), targetServerPrefix(otherTarget)];
  /** The static server and the servers of this file's two targets (others may share the backend). */
  const serverNames = async () =>
    (await showServersState(runtime, backend))
      .map((s) => s.name)
      .filter((name) => name === process.env.HAPROXY_STATIC_SERVER || testPrefixes.some((p) => name.startsWith(p)))
      .sort();
  const cleanUp = () => Promise.all([plugin().reconcile([], ctx), plugin('tcp', 10, otherTarget).reconcile([], ctx)]);
  let members: HttpMember[] = [];

  beforeAll(async () => {
    // Leftovers from an interrupted run would skew every count below.
    await cleanUp();
  });
  afterEach(async () => {
    await cleanUp();
    await Promise.all(members.map((m) => m.close()));
    members = [];
  });
  afterAll(async () => {
    await cleanUp();
  });

  it('register adds and enables members (idempotently), and traffic through HAProxy reaches every one', async () => {
    // Prepare
    members = [await startMember('web-1'), await startMember('web-2')];

    // Act
    const first = await plugin().register(members, ctx);
    const second = await plugin().register(members, ctx);
    const load = loadLoop(frontendUrl, 2);
    await waitFor(() => members.every((m) => m.hits > 2), 5_000, 'both members to serve');
    await load.stop();

    // Assess
    expect(first.added).toEqual([ours('web-1'), ours('web-2')]);
    expect(second.added).toEqual([]);
    expect(second.unchanged).toEqual([ours('web-1'), ours('web-2')]);
    expect(load.failures).toEqual([]);
    expect(await serverNames()).toEqual([process.env.HAPROXY_STATIC_SERVER, ours('web-1'), ours('web-2')].sort());
  });

  it('drain under load: no failed request, the server is deleted, and it gets no traffic afterwards', async () => {
    // Prepare: slow-ish answers keep sessions open on the member being drained.
    members = [await startMember('keep-1', 20), await startMember('gone-1', 20)];
    await plugin().register(members, ctx);
    const load = loadLoop(frontendUrl, 6);
    await waitFor(() => members.every((m) => m.hits > 5), 5_000, 'both members to serve');

    // Act
    const result = await plugin().drain([members[1]!], ctx);
    const hitsAfterDrain = members[1]!.hits;
    const keptHitsAtDrain = members[0]!.hits;
    await waitFor(() => members[0]!.hits > keptHitsAtDrain + 20, 10_000, 'more traffic on the remaining member');
    await load.stop();

    // Assess: the load ran before, through and after the drain (>5 + >5 + >20 requests) without a failure
    expect(load.failures).toEqual([]);
    expect(load.requests).toBeGreaterThan(30);
    expect(result).toMatchObject({ removed: [ours('gone-1')], timedOut: [], absent: [] });
    expect(members[1]!.hits).toBe(hitsAfterDrain);
    expect(await serverNames()).not.toContain(ours('gone-1'));
  });

  it('drain waits for a long request to finish before deleting the server', async () => {
    // Prepare
    members = [await startMember('slow-1')];
    await plugin().register(members, ctx);
    const slow = fetch(`${frontendUrl}?delay=800`).then(async (r) => ({ status: r.status, body: await r.text() }));
    await waitFor(async () => (await showStat(runtime)).some((r) => r.svname === ours('slow-1') && r.scur === '1'), 3_000, 'the slow session');

    // Act
    const started = Date.now();
    const result = await plugin().drain(members, ctx);
    const waited = Date.now() - started;

    // Assess
    expect(await slow).toEqual({ status: 200, body: 'slow-1' });
    expect(waited).toBeGreaterThan(300);
    expect(result).toMatchObject({ removed: [ours('slow-1')], timedOut: [] });
  });

  it('drain past drainTimeoutSeconds cuts the remaining sessions and still deletes the server', async () => {
    // Prepare
    members = [await startMember('stuck-1')];
    await plugin('tcp', 0).register(members, ctx);
    const stuck = fetch(`${frontendUrl}?delay=5000`).then((r) => r.status, () => 'cut');
    await waitFor(async () => (await showStat(runtime)).some((r) => r.svname === ours('stuck-1') && r.scur === '1'), 3_000, 'the stuck session');

    // Act
    const result = await plugin('tcp', 0).drain(members, ctx);

    // Assess
    expect(result).toMatchObject({ removed: [ours('stuck-1')], timedOut: [ours('stuck-1')] });
    expect(await stuck).not.toBe(200);
    expect(await serverNames()).not.toContain(ours('stuck-1'));
  });

  it('reconcile repairs drift: re-adds a server deleted by hand, removes an extra one, leaves static servers alone (unix socket)', async () => {
    // Prepare
    members = [await startMember('r-1'), await startMember('r-2')];
    await plugin('unix').register(members, ctx);
    await runExpecting(runtime, `set server ${backend}/${ours('r-2')} state maint`, []);
    await runExpecting(runtime, `del server ${backend}/${ours('r-2')}`, ['Server deleted.']);
    await runExpecting(runtime, `add server ${backend}/${ours('stray')} 127.0.0.1:1 check`, ['New server registered.']);
    await runExpecting(runtime, `set server ${backend}/${ours('r-1')} state maint`, []);

    // Act
    const result = await plugin('unix').reconcile(members, ctx);
    const again = await plugin('unix').reconcile(members, ctx);
    const load = loadLoop(frontendUrl, 2);
    await waitFor(() => members.every((m) => m.hits > 2), 5_000, 'both members to serve');
    await load.stop();

    // Assess
    expect(result).toMatchObject({ added: [ours('r-2')], removed: [ours('stray')], enabled: [ours('r-1')] });
    expect(again).toMatchObject({ added: [], removed: [], enabled: [] });
    expect(await serverNames()).toEqual([process.env.HAPROXY_STATIC_SERVER, ours('r-1'), ours('r-2')].sort());
    expect(load.failures).toEqual([]);
  });

  it('defect 5: reconcile restores servers of running replicas left in DRAIN (an interrupted drain) or MAINT, and traffic reaches them again', async () => {
    // Prepare: a drain interrupted after "state drain" (the Lambda timed out or crashed) leaves the
    // server in DRAIN; another was left in MAINT. Both replicas are still running and managed.
    members = [await startMember('drained-1'), await startMember('maint-1')];
    const [drained, maint] = members as [HttpMember, HttpMember];
    await plugin().register(members, ctx);
    await runExpecting(runtime, `set server ${backend}/${ours('drained-1')} state drain`, []);
    await runExpecting(runtime, `set server ${backend}/${ours('maint-1')} state maint`, []);
    const drainBit = 0x08;
    const before = await showServersState(runtime, backend);
    expect(before.find((s) => s.name === ours('drained-1'))!.adminState & drainBit).toBe(drainBit);

    // Act
    const result = await plugin().reconcile(members, ctx);
    const again = await plugin().reconcile(members, ctx);
    const hitsAtReconcile = { drained: drained.hits, maint: maint.hits };
    const load = loadLoop(frontendUrl, 2);
    await waitFor(() => drained.hits > hitsAtReconcile.drained + 2 && maint.hits > hitsAtReconcile.maint + 2, 5_000, 'the restored members to serve');
    await load.stop();

    // Assess: both are READY (no forced maintenance or drain bit left), and the next reconcile has nothing to do.
    const after = await showServersState(runtime, backend);
    for (const name of [ours('drained-1'), ours('maint-1')]) expect(after.find((s) => s.name === name)!.adminState & (0x01 | drainBit)).toBe(0);
    expect(result).toMatchObject({ added: [], removed: [], enabled: [ours('maint-1')], undrained: [ours('drained-1')] });
    expect(again).toMatchObject({ added: [], removed: [], enabled: [], undrained: [] });
    expect(load.failures).toEqual([]);
  });

  it('two targets share one backend: reconcile and drain of one never touch the other\'s servers, even a same-named member', async () => {
    // Prepare: both services register a container called "same-1"; each has one more of its own.
    members = [await startMember('a-1'), await startMember('b-1'), await startMember('same-1')];
    const [a1, b1, same] = members as [HttpMember, HttpMember, HttpMember];
    const serviceA = plugin();
    const serviceB = plugin('tcp', 10, otherTarget);
    await serviceA.register([a1, same], ctx);
    await serviceB.register([b1, same], ctx);

    // Act
    const reconciledA = await serviceA.reconcile([], ctx);
    const drainedA = await serviceA.drain([same], ctx);
    const reconciledB = await serviceB.reconcile([b1, same], ctx);
    const load = loadLoop(frontendUrl, 2);
    await waitFor(() => b1.hits > 2 && same.hits > 2, 5_000, "service B's members to serve");
    await load.stop();

    // Assess
    expect(ours('same-1')).not.toBe(theirs('same-1'));
    expect([...(reconciledA.removed as string[])].sort()).toEqual([ours('a-1'), ours('same-1')].sort());
    expect(drainedA).toMatchObject({ removed: [], absent: [ours('same-1')] });
    expect(reconciledB).toMatchObject({ added: [], updated: [], removed: [] });
    expect(await serverNames()).toEqual([process.env.HAPROXY_STATIC_SERVER, theirs('b-1'), theirs('same-1')].sort());
    expect(load.failures).toEqual([]);
  });

  it('refuses a backend or member that would inject runtime commands, and names an unknown backend', async () => {
    // Act / Assess
    expect(() => haproxyLoadBalancer.create({ type: 'haproxy', endpoint: 'tcp', backend: 'web; del server web/static-1', port: 80, drainTimeoutSeconds: 1 }, target, ctx)).toThrow(/backend "web; del server/);
    await expect(plugin().register([{ name: 'x', address: '1.2.3.4;shutdown', port: 80 }], ctx)).rejects.toThrow(/address "1.2.3.4;shutdown"/);
    const missing = haproxyLoadBalancer.create(HaproxyLoadBalancer.parse({ type: 'haproxy', endpoint: 'tcp', backend: 'no-such-backend', port: 80 }), target, ctx);
    await expect(missing.reconcile([], ctx)).rejects.toThrow(/Can't find backend/);
    expect(await serverNames()).toContain(process.env.HAPROXY_STATIC_SERVER);
  });
});

it('server names derive from the owning target and the container name: scoped, sanitized, distinct, at most 63 characters', () => {
  // Prepare
  const web = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'web' });
  const api = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'api' });
  const webElsewhere = DockerTarget.parse({ type: 'docker', endpoint: 'other', service: 'web' });

  // Act
  const prefix = targetServerPrefix(web);
  const plain = serverName('/web-1', web);
  const odd = serverName('web 1', web);
  const odd2 = serverName('web:1', web);
  const long = serverName('x'.repeat(100), web);
  const long2 = serverName(`${'x'.repeat(99)}y`, web);

  // Assess
  expect(prefix).toMatch(new RegExp(`^${serverPrefix}[0-9a-f]{6}-$`));
  expect(targetServerPrefix(api)).not.toBe(prefix);
  expect(targetServerPrefix(webElsewhere)).not.toBe(prefix);
  expect(plain).toBe(`${prefix}web-1`);
  expect(serverName('web-1', api)).toBe(`${targetServerPrefix(api)}web-1`);
  expect(odd).toMatch(new RegExp(`^${prefix}web-1-[0-9a-f]{8}$`));
  expect(odd).not.toBe(odd2);
  expect(long.length).toBeLessThanOrEqual(63);
  expect(long.startsWith(prefix)).toBe(true);
  expect(long).not.toBe(long2);
});
