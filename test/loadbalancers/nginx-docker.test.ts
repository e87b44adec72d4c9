import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { containerNginxControl } from '../../shared/plugins/loadbalancers/nginx/control.ts';
import { nginxLoadBalancer, renderUpstream } from '../../shared/plugins/loadbalancers/nginx/loadbalancer.ts';
import { targetAccess, type LoadBalancerPlugin, type PluginContext } from '../../shared/plugins/types.ts';
import { DockerTarget, NginxLoadBalancer } from '../../shared/policy/schema.ts';
import { dockerContainerAccess } from '../../shared/plugins/targets/docker/containers.ts';
import { dockerTarget } from '../../shared/plugins/targets/docker/target.ts';
import { describeWithServices } from '../support/services.ts';
import { startMember, waitFor } from './http-members.ts';
import type { HttpMember } from './http-members.ts';

describeWithServices('nginx load balancer in a container (real Docker Engine, nginx image made by docker import; files via the archive API, nginx -t / -s reload via exec)', ['DOCKER_HOST', 'TEST_NETWORK', 'NGINX_IMAGE'], () => {
  const socket = process.env.DOCKER_HOST!.replace(/^unix:\/\//, '');
  const docker = new Docker({ socketPath: socket });
  const ctx: PluginContext = { endpoints: { ...noEndpoints, docker: { local: { socket } } }, signal: new AbortController().signal };
  const containerName = `autoscaler-test-nginx-${process.pid}`;
  const file = '/etc/nginx/conf.d/web-upstream.conf';
  const spec = NginxLoadBalancer.parse({ type: 'nginx', container: containerName, upstream: 'web', file, port: 80 });
  const target = DockerTarget.parse({ type: 'docker', endpoint: 'local', service: 'web' });
  let nginxUrl: string;
  let gateway: string;
  let members: HttpMember[] = [];
  let plugin: LoadBalancerPlugin;

  beforeAll(async () => {
    const container = await docker.createContainer({ name: containerName, Image: process.env.NGINX_IMAGE, HostConfig: { NetworkMode: process.env.TEST_NETWORK } });
    await container.start();
    const info = await container.inspect();
    const net = info.NetworkSettings.Networks[process.env.TEST_NETWORK!]!;
    nginxUrl = `http://${net.IPAddress}/`;
    gateway = net.Gateway;
    // Members run in this process on the bridge's host side, where the container reaches them.
    members = [await startMember('c-1', 0, gateway), await startMember('c-2', 0, gateway)];
    plugin = nginxLoadBalancer.create(spec, target, ctx, targetAccess(dockerTarget, target, ctx));
  });
  afterAll(async () => {
    await docker.getContainer(containerName).remove({ force: true }).catch(() => undefined);
    await Promise.all(members.map((m) => m.close()));
  });

  it('register writes the upstream into the container, tests, reloads, and traffic reaches both members; drain removes one', async () => {
    // Act
    const registered = await plugin.register(members, ctx);
    await waitFor(async () => (await fetch(nginxUrl).then((r) => r.text(), () => ''), members.every((m) => m.hits > 0)), 10_000, 'both members to serve through the nginx container');
    const drained = await plugin.drain([members[0]!], ctx);
    await waitFor(async () => (await fetch(nginxUrl).then((r) => r.text(), () => '')) === 'c-2', 10_000, 'the drained configuration');
    const control = containerNginxControl(dockerContainerAccess('local', ctx), containerName);

    // Assess
    expect(registered).toMatchObject({ reloaded: true, added: ['c-1', 'c-2'] });
    expect(drained).toMatchObject({ reloaded: true, removed: ['c-1'] });
    expect(await control.read(file)).toBe(renderUpstream('web', [members[1]!]));
  });

  it('a configuration nginx rejects is rolled back inside the container and nginx keeps serving', async () => {
    // Prepare
    const control = containerNginxControl(dockerContainerAccess('local', ctx), containerName);
    const before = await control.read(file);

    // Act: a host name nginx cannot resolve (a label over 63 characters fails at once, without a DNS timeout).
    const unresolvable = `${'a'.repeat(70)}.invalid`;
    const attempt = plugin.register([{ name: 'c-broken', address: unresolvable, port: 8080 }], ctx);

    // Assess
    await expect(attempt).rejects.toThrow(/nginx container "autoscaler-test-nginx-\d+": configuration test failed, .* restored and nginx not reloaded: .*host not found in upstream "a{70}\.invalid:8080"/s);
    expect(await control.read(file)).toBe(before);
    expect(await fetch(nginxUrl).then((r) => r.text())).toBe('c-2');
  });

  it('a missing container is an error naming it and the Docker endpoint', async () => {
    // Prepare
    const missing = nginxLoadBalancer.create({ ...spec, container: 'no-such-nginx' }, target, ctx, targetAccess(dockerTarget, target, ctx));

    // Act / Assess
    await expect(missing.register(members, ctx)).rejects.toThrow(/nginx container "no-such-nginx" on docker endpoint "local" .*failed: .*No such container/);
  });
});
