import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { ruleProblems, traefikLoadBalancer, TraefikLabels, validateTraefikLabels } from '../../shared/plugins/loadbalancers/traefik/loadbalancer.ts';
import { nginxLoadBalancer } from '../../shared/plugins/loadbalancers/nginx/loadbalancer.ts';
import { memoryTarget } from '../../shared/plugins/targets/memory/target.ts';
import { dockerTarget } from '../../shared/plugins/targets/docker/target.ts';
import { targetAccess, type PluginContext } from '../../shared/plugins/types.ts';
import { DockerTarget, NginxLoadBalancer, Target } from '../../shared/policy/schema.ts';
import { describeWithServices } from '../support/services.ts';

const good = {
  'traefik.enable': 'true',
  'traefik.http.routers.web.rule': 'Host(`shop.example.com`) && PathPrefix(`/api`)',
  'traefik.http.routers.web.entrypoints': 'websecure',
  'traefik.http.routers.web.service': 'web',
  'traefik.http.services.web.loadbalancer.server.port': '8080',
};

describe('load balancers that need container access (pure: no service)', () => {
  const ctx: PluginContext = { endpoints: noEndpoints, signal: new AbortController().signal };
  const memory = Target.parse({ type: 'memory', name: 'web' });

  it('traefik and nginx behind a target without container access fail at creation, naming the target type', () => {
    // Prepare
    const access = targetAccess(memoryTarget, memory as never, ctx);
    const nginx = NginxLoadBalancer.parse({ type: 'nginx', container: 'nginx', upstream: 'web', file: '/etc/nginx/conf.d/web.conf', port: 80 });

    // Act / Assess
    expect(access).toEqual({});
    expect(() => traefikLoadBalancer.create({ type: 'traefik' }, memory, ctx, access)).toThrow("the traefik load balancer verifies its members' container labels, and a memory target offers no container access");
    expect(() => nginxLoadBalancer.create(nginx, memory, ctx, access)).toThrow("the nginx load balancer runs in a container on the target's host, and a memory target offers no container access");
  });
});

describe('traefik labels (Traefik itself is not available here: labels are checked as its Docker provider reads them)', () => {
  it('accepts a complete router + service', () => {
    // Act / Assess
    expect(validateTraefikLabels(good)).toEqual([]);
    expect(ruleProblems('(Host(`a.example`) || Host(`b.example`)) && !PathPrefix(`/admin`)')).toEqual([]);
  });

  it('names every problem: missing enable, missing rule, bad rule, non-numeric port, missing entrypoints, unknown service', () => {
    // Prepare
    const broken = {
      'traefik.http.routers.web.rule': 'Host(shop.example.com',
      'traefik.http.routers.api.entrypoints': 'web',
      'traefik.http.routers.api.service': 'nope',
      'traefik.http.services.web.loadbalancer.server.port': 'http',
    };

    // Act
    const problems = validateTraefikLabels(broken);

    // Assess
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/traefik.enable=true is missing/),
        expect.stringMatching(/routers\.web\.rule "Host\(shop.example.com" has unbalanced parentheses/),
        expect.stringMatching(/routers\.web\.entrypoints is missing/),
        expect.stringMatching(/routers\.api\.rule is missing/),
        expect.stringMatching(/routers\.api\.service "nope" names no service/),
        expect.stringMatching(/services\.web\.loadbalancer\.server\.port "http" is not a port number/),
      ]),
    );
    expect(problems).toHaveLength(6);
  });

  it('rules: unknown matchers, unquoted arguments and stray text are problems; exposedByDefault waives traefik.enable', () => {
    // Act / Assess
    expect(ruleProblems('Hots(`a`)')).toEqual(['uses unknown matcher Hots(…)']);
    expect(ruleProblems('Host(a.example)')).toEqual(['Host(…) needs quoted arguments, e.g. Host(`value`)']);
    expect(ruleProblems('Host(`a`) and PathPrefix(`/x`)')).toEqual(['has unexpected text "and" between matchers']);
    expect(ruleProblems('Host(`a`')).toEqual(['has unbalanced parentheses']);
    const { 'traefik.enable': _, ...withoutEnable } = good;
    expect(validateTraefikLabels(withoutEnable, { exposedByDefault: true })).toEqual([]);
    expect(validateTraefikLabels({ ...good, 'traefik.enable': 'false' }, { exposedByDefault: true })).toEqual(['traefik.enable is "false": Traefik ignores the container']);
  });

  it('register throws with the problems; drain and reconcile change nothing', async () => {
    // Prepare
    const ctx: PluginContext = { endpoints: noEndpoints, signal: new AbortController().signal };
    const labels: Record<string, Record<string, string>> = { ok: good, bad: { ...good, 'traefik.http.services.web.loadbalancer.server.port': '0' } };
    const plugin = new TraefikLabels(async (m) => labels[m.name]!);

    // Act / Assess
    await expect(plugin.register([{ name: 'ok', address: '10.0.0.2', port: 8080 }], ctx)).resolves.toMatchObject({ verified: ['ok'] });
    await expect(plugin.register([{ name: 'bad', address: '10.0.0.3', port: 8080 }], ctx)).rejects.toThrow(/bad: traefik\.http\.services\.web\.loadbalancer\.server\.port "0" is not a port number/);
    await expect(plugin.drain([{ name: 'bad', address: '10.0.0.3', port: 8080 }])).resolves.toMatchObject({ members: ['bad'] });
    await expect(plugin.reconcile([{ name: 'ok', address: '10.0.0.2', port: 8080 }], ctx)).resolves.toMatchObject({ added: [], removed: [] });
  });
});

describeWithServices('traefik load balancer reads the labels of real containers (real Docker Engine; no Traefik)', ['DOCKER_HOST', 'TEST_IMAGE'], () => {
  const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
  const docker = new Docker({ socketPath: socket });
  const ctx: PluginContext = { endpoints: { ...noEndpoints, docker: { local: { socket } } }, signal: new AbortController().signal };
  const target = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'web' });
  const names = [`traefik-ok-${process.pid}`, `traefik-bad-${process.pid}`];

  afterAll(async () => {
    await Promise.all(names.map((n) => docker.getContainer(n).remove({ force: true }).catch(() => undefined)));
  });

  it('register verifies a clone that kept valid labels and rejects one whose rule is broken', async () => {
    // Prepare
    await docker.createContainer({ name: names[0], Image: process.env.TEST_IMAGE, Cmd: ['true'], Labels: good });
    await docker.createContainer({ name: names[1], Image: process.env.TEST_IMAGE, Cmd: ['true'], Labels: { ...good, 'traefik.http.routers.web.rule': 'PathPrefix(/api)' } });
    const plugin = traefikLoadBalancer.create({ type: 'traefik' }, target, ctx, targetAccess(dockerTarget, target, ctx));

    // Act / Assess
    await expect(plugin.register([{ name: names[0]!, address: '172.18.0.2', port: 8080 }], ctx)).resolves.toMatchObject({ verified: [names[0]] });
    await expect(plugin.register([{ name: names[1]!, address: '172.18.0.3', port: 8080 }], ctx)).rejects.toThrow(/PathPrefix\(…\) needs quoted arguments/);
    await expect(plugin.register([{ name: 'no-such-container-xyz', address: '172.18.0.4', port: 8080 }], ctx)).rejects.toThrow(/cannot read the labels of container no-such-container-xyz/);
  });
});
