// The registered `memory` scale target: in-process replicas, members at RFC 2544 addresses, a load
// balancer kept in step (a recording load balancer: no service is involved), and the policy checks
// that follow from its capabilities.
import { describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { defaultRegistry, load } from '../../shared/plugins/registry.ts';
import { MemoryScaleTarget } from '../../shared/plugins/targets/memory/target.ts';
import type { LoadBalancerPlugin, Member, PluginContext, ScaleRequest, ScaleTarget } from '../../shared/plugins/types.ts';
import { Policy, targetKey } from '../../shared/policy/schema.ts';

const ctx: PluginContext = { endpoints: noEndpoints, signal: new AbortController().signal };

function input(extra: Record<string, unknown> = {}) {
  return {
    id: 'mem',
    target: { type: 'memory', name: 'web' },
    capacity: { min: 1, max: 10 },
    metrics: [{ id: 'jobs', source: 'redis', endpoint: 'local', list: 'q' }],
    rule: { type: 'target', metric: 'jobs', perReplica: 10 },
    ...extra,
  };
}
const policy = (extra: Record<string, unknown> = {}) => Policy.parse(input(extra));

/** A load balancer that records what it was asked. */
function recordingLoadBalancer() {
  const calls: Array<{ call: string; members: string[] }> = [];
  const names = (members: readonly Member[]) => members.map((m) => `${m.name}=${m.address}:${m.port}`);
  const lb: LoadBalancerPlugin = {
    type: 'haproxy',
    register: async (members) => (calls.push({ call: 'register', members: names(members) }), {}),
    drain: async (members) => (calls.push({ call: 'drain', members: names(members) }), {}),
    reconcile: async (members) => (calls.push({ call: 'reconcile', members: names(members) }), {}),
  };
  return { lb, calls };
}

describe('memory target', () => {
  it('is registered in the catalog as "memory", keyed memory/<name>, and starts a service at 1 replica', async () => {
    // Prepare
    const p = policy();
    const plugin = await load<ScaleTarget>('targets', 'memory', defaultRegistry);
    // Act
    const state = await plugin.describe({ policy: p, target: p.target }, ctx);
    // Assess
    expect(plugin.type).toBe('memory');
    expect(targetKey(p.target)).toBe('memory/web');
    expect(state).toEqual({ replicas: 1 });
  });

  it('scales in process and keeps its load balancer in step: new members registered, leaving ones drained first', async () => {
    // Prepare
    const p = policy({ loadBalancer: { type: 'haproxy', endpoint: 'lb', backend: 'web', port: 8080 } });
    const target = new MemoryScaleTarget();
    const { lb, calls } = recordingLoadBalancer();
    const request: ScaleRequest = { policy: p, target: p.target, loadBalancer: lb };
    // Act
    const out = await target.scale(request as never, 3, ctx);
    const back = await target.scale(request as never, 2, ctx);
    const reconciled = await target.reconcile(request as never, ctx);
    // Assess
    expect(out).toMatchObject({ replicas: 3, details: { from: 1, to: 3 } });
    expect(back).toMatchObject({ replicas: 2, details: { from: 3, to: 2 } });
    expect(calls).toEqual([
      { call: 'register', members: ['web-2=198.18.0.2:8080', 'web-3=198.18.0.3:8080'] },
      { call: 'drain', members: ['web-3=198.18.0.3:8080'] },
      { call: 'reconcile', members: ['web-1=198.18.0.1:8080', 'web-2=198.18.0.2:8080'] },
    ]);
    expect(reconciled).toMatchObject({ members: ['web-1=198.18.0.1:8080', 'web-2=198.18.0.2:8080'] });
    expect((await target.describe(request as never, ctx)).replicas).toBe(2);
  });

  it('member addresses stay inside 198.18.0.0/15 past 255 replicas', async () => {
    // Prepare
    const p = policy({ capacity: { min: 1, max: 1000 } });
    const target = new MemoryScaleTarget();
    await target.scale({ policy: p, target: p.target } as never, 300, ctx);
    // Act
    const members = await target.members({ policy: p, target: p.target } as never, ctx);
    // Assess
    expect(members).toHaveLength(300);
    expect(members[254]).toEqual({ name: 'web-255', address: '198.18.0.255', port: 80 });
    expect(members[299]).toEqual({ name: 'web-300', address: '198.18.1.44', port: 80 });
    expect(new Set(members.map((m) => m.address)).size).toBe(300);
  });

  it('refuses a desired count that is not a whole number ≥ 0', async () => {
    // Prepare
    const p = policy();
    // Act / Assess
    await expect(new MemoryScaleTarget().scale({ policy: p, target: p.target } as never, -1, ctx)).rejects.toThrow('memory scale: desired replicas must be a whole number ≥ 0, got -1');
  });

  it('policies: haproxy is allowed behind a memory target; nginx and traefik, which reach into containers, are refused naming the targets that allow them', () => {
    // Act
    const haproxy = Policy.safeParse(input({ loadBalancer: { type: 'haproxy', endpoint: 'lb', backend: 'web', port: 8080 } }));
    const nginx = Policy.safeParse(input({ loadBalancer: { type: 'nginx', container: 'nginx', upstream: 'web', file: '/etc/nginx/conf.d/web.conf', port: 80 } }));
    const traefik = Policy.safeParse(input({ loadBalancer: { type: 'traefik' } }));
    // Assess
    expect(haproxy.success).toBe(true);
    for (const [result, type] of [[nginx, 'nginx'], [traefik, 'traefik']] as const) {
      expect(result.error?.issues).toEqual([
        expect.objectContaining({ path: ['loadBalancer', 'type'], message: `"${type}" reaches into containers on the target's host, which a memory target does not offer; allowed with docker targets` }),
      ]);
    }
  });
});
