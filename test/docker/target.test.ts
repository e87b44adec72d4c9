import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerTarget, DockerScaleError } from '../../shared/plugins/targets/docker/target.ts';
import type { DockerTarget } from '../../shared/policy/schema.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import { describeWithServices } from '../support/services.ts';
import {
  HTTP_PORT,
  RUN_LABEL,
  RecordingLoadBalancer,
  cleanupRun,
  createTemplate,
  dockerPolicy,
  failureOf,
  httpGet,
  network,
  runId,
  scaleRequest,
  serviceContainers,
  serviceName,
  testContext,
  testDocker,
  waitFor,
} from './helpers.ts';

const byName = (name: string) => testDocker().getContainer(name).inspect();
const names = (list: Array<{ Names: string[] }>) => list.map((c) => c.Names[0]!.slice(1)).sort();

describeWithServices('docker target (real Docker Engine)', ['DOCKER_HOST', 'TEST_IMAGE', 'TEST_NETWORK'], () => {
  beforeAll(async () => {
    await testDocker().ping();
  });
  /** Host folders bind-mounted into test containers: removed once the containers are gone (they were left in the temp folder). */
  const hostDirs: string[] = [];
  afterAll(async () => {
    await cleanupRun();
    for (const dir of hostDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('clones the template faithfully: image, command, env, labels, limits, binds, volumes, restart policy, networks, healthcheck; own hostname, no compose labels, ephemeral ports', async () => {
    // Prepare
    const docker = testDocker();
    const service = serviceName('fidelity');
    const volume = `${runId}-data`;
    const mountVolume = `${runId}-cache`;
    const extraNetwork = `${runId}-extra`;
    await docker.createVolume({ Name: volume, Labels: { [RUN_LABEL]: runId } });
    await docker.createNetwork({ Name: extraNetwork, Driver: 'bridge', Labels: { [RUN_LABEL]: runId } });
    const hostDir = mkdtempSync(join(tmpdir(), 'autoscaler-bind-'));
    hostDirs.push(hostDir);
    const template = await createTemplate(service, {
      start: false,
      labels: { 'app.tier': 'front', 'autoscaler.max': '7', 'com.docker.compose.project': 'demo', 'com.docker.compose.service': 'web' },
      extra: {
        Hostname: 'template-host',
        Entrypoint: ['/bin/busybox'],
        Cmd: ['httpd', '-f', '-p', String(HTTP_PORT), '-h', '/www'],
        Env: ['PORT=8080', 'GREETING=hello world'],
        ExposedPorts: { [`${HTTP_PORT}/tcp`]: {} },
        Healthcheck: { Test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${HTTP_PORT}/`], Interval: 200_000_000, Timeout: 2_000_000_000, Retries: 3 },
        HostConfig: {
          NanoCpus: 500_000_000,
          Memory: 64 * 1024 * 1024,
          Binds: [`${volume}:/data`, `${hostDir}:/host:ro`],
          Mounts: [{ Type: 'volume', Source: mountVolume, Target: '/cache' }],
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
          PortBindings: { [`${HTTP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        },
      },
    });
    await docker.getNetwork(extraNetwork).connect({ Container: template.Id, EndpointConfig: { Aliases: ['web-alias'] } });
    await docker.getContainer(template.Id).start();
    const original = await byName(template.Id);
    const lb = new RecordingLoadBalancer();
    lb.probeHttp = true;

    // Act
    const result = await dockerTarget.scale(scaleRequest(dockerPolicy(service), lb), 2, testContext());

    // Assess
    expect(result.replicas).toBe(2);
    const cloneName = (result.details.created as Array<{ name: string }>)[0]!.name;
    const clone = await byName(cloneName);
    expect(clone.Config.Image).toBe(original.Config.Image);
    expect(clone.Image).toBe(original.Image);
    expect(clone.Config.Entrypoint).toEqual(['/bin/busybox']);
    expect(clone.Config.Cmd).toEqual(original.Config.Cmd);
    expect(clone.Config.Env).toEqual(original.Config.Env);
    const { 'com.docker.compose.project': _p, 'com.docker.compose.service': _s, ...keptLabels } = original.Config.Labels;
    expect(clone.Config.Labels).toEqual({ ...keptLabels, 'autoscaler.managed': 'true' });
    expect(clone.HostConfig.NanoCpus).toBe(500_000_000);
    expect(clone.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(clone.HostConfig.Binds).toEqual([`${volume}:/data`, `${hostDir}:/host:ro`]);
    expect(clone.Mounts.filter((m) => m.Type === 'volume').map((m) => `${m.Name}:${m.Destination}`).sort()).toEqual([`${mountVolume}:/cache`, `${volume}:/data`]);
    expect(clone.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect(Object.keys(clone.NetworkSettings.Networks).sort()).toEqual([extraNetwork, network()].sort());
    expect(clone.NetworkSettings.Networks[extraNetwork]!.Aliases).toContain('web-alias');
    expect(clone.Config.Healthcheck).toEqual(original.Config.Healthcheck);
    expect(original.Config.Hostname).toBe('template-host');
    expect(clone.Config.Hostname).toBe(clone.Id.slice(0, 12));
    expect(clone.HostConfig.PortBindings).toEqual({ [`${HTTP_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] });
    const templatePort = original.NetworkSettings.Ports[`${HTTP_PORT}/tcp`]![0]!.HostPort;
    const clonePort = clone.NetworkSettings.Ports[`${HTTP_PORT}/tcp`]![0]!.HostPort;
    expect(Number(clonePort)).toBeGreaterThan(0);
    expect(clonePort).not.toBe(templatePort);
    // It took traffic only once running and healthy, at an address reachable from here.
    expect(lb.events.map((e) => e.op)).toEqual(['register']);
    expect(lb.events[0]!.members).toEqual([{ name: cloneName, address: clone.NetworkSettings.Networks[network()]!.IPAddress, port: HTTP_PORT }]);
    expect(lb.events[0]!.states[cloneName]).toEqual({ running: true, health: 'healthy', served: 'ok' });
  });

  it('scales out by 3 in parallel, then in by 2 removing the newest clones; register after running, drain before stop', async () => {
    // Prepare
    const service = serviceName('outin');
    const template = await createTemplate(service);
    const policy = dockerPolicy(service, { target: { parallelism: 3 } });
    const lb = new RecordingLoadBalancer();
    const ctx = testContext();

    // Act
    const out = await dockerTarget.scale(scaleRequest(policy, lb), 4, ctx);
    const clones = await Promise.all((out.details.created as Array<{ name: string }>).map((c) => byName(c.name)));
    const afterOut = await serviceContainers(service);
    const inResult = await dockerTarget.scale(scaleRequest(policy, lb), 2, ctx);
    const afterIn = await serviceContainers(service);

    // Assess
    expect(out.replicas).toBe(4);
    expect(afterOut.filter((c) => c.State === 'running')).toHaveLength(4);
    // In parallel: the last clone was created before the first one had started.
    const created = clones.map((c) => Date.parse(c.Created)).sort((a, b) => a - b);
    const firstStarted = Math.min(...clones.map((c) => Date.parse(c.State.StartedAt)));
    expect(created[2]!).toBeLessThan(firstStarted);
    const nanos = (t: string) => t.replace(/(\.(\d+))?Z$/, (_m, _f, d: string | undefined) => `.${(d ?? '').padEnd(9, '0')}Z`);
    const newestFirst = [...clones].sort((a, b) => (nanos(a.Created) < nanos(b.Created) ? 1 : -1)).map((c) => c.Name.slice(1));
    expect(inResult.replicas).toBe(2);
    expect([...(inResult.details.removed as string[])].sort()).toEqual(newestFirst.slice(0, 2).sort());
    expect(names(afterIn)).toEqual([template.Name.slice(1), newestFirst[2]!].sort());
    expect(lb.events.map((e) => e.op)).toEqual(['register', 'register', 'register', 'drain']);
    expect(lb.names('register').sort()).toEqual(newestFirst.slice().sort());
    expect(lb.events.filter((e) => e.op === 'register').every((e) => Object.values(e.states).every((s) => s.running))).toBe(true);
    const drain = lb.events.at(-1)!;
    expect(drain.members.map((m) => m.name).sort()).toEqual(newestFirst.slice(0, 2).sort());
    expect(Object.values(drain.states).every((s) => s.running)).toBe(true);
  });

  it('never removes containers it did not create, even when asked for 0 replicas', async () => {
    // Prepare
    const service = serviceName('keep');
    const first = await createTemplate(service);
    const second = await createTemplate(service);
    const ctx = testContext();
    const policy = dockerPolicy(service);
    await dockerTarget.scale(scaleRequest(policy), 3, ctx);

    // Act
    const result = await dockerTarget.scale(scaleRequest(policy), 0, ctx);

    // Assess
    expect(result.replicas).toBe(2);
    expect(result.details).toMatchObject({ action: 'scaleIn', requested: 3, notRemovable: 2 });
    const left = await serviceContainers(service);
    expect(names(left)).toEqual([first.Name.slice(1), second.Name.slice(1)].sort());
    expect(left.every((c) => c.State === 'running')).toBe(true);
  });

  it('describe counts running containers and returns the labels of the oldest original', async () => {
    // Prepare
    const service = serviceName('describe');
    await createTemplate(service, { labels: { 'autoscaler.max': '5', 'autoscaler.min': '1' } });
    await createTemplate(service, { labels: { 'autoscaler.max': '9' } });
    await createTemplate(service, { start: false });

    // Act
    const state = await dockerTarget.describe(scaleRequest(dockerPolicy(service)), testContext());

    // Assess
    expect(state.replicas).toBe(2);
    expect(state.labels).toMatchObject({ 'autoscaler.service': service, 'autoscaler.max': '5', 'autoscaler.min': '1' });
  });

  it('restarts a stopped service container and audits it as restart; does nothing when restartStopped is off', async () => {
    // Prepare
    const service = serviceName('restart');
    const template = await createTemplate(service);
    await testDocker().getContainer(template.Id).stop({ t: 0 });
    const lb = new RecordingLoadBalancer();
    const off = dockerPolicy(service, { availability: { restartStopped: false, recreateRemoved: false } });
    const on = dockerPolicy(service);

    // Act
    const whenOff = await dockerTarget.ensureAvailability!(scaleRequest(off, lb), testContext());
    const stateWhenOff = (await byName(template.Id)).State.Running;
    const whenOn = await dockerTarget.ensureAvailability!(scaleRequest(on, lb), testContext());

    // Assess
    expect(whenOff).toEqual([]);
    expect(stateWhenOff).toBe(false);
    expect(whenOn).toHaveLength(1);
    expect(whenOn[0]).toMatchObject({ action: 'restart', status: 'Successful', details: { container: template.Name.slice(1), previousState: 'exited' } });
    expect((await byName(template.Id)).State.Running).toBe(true);
    expect(lb.names('register')).toEqual([template.Name.slice(1)]);
  });

  it('recreates a removed original from its recorded spec and audits it as recreate; does nothing when recreateRemoved is off', async () => {
    // Prepare
    const service = serviceName('recreate');
    const template = await createTemplate(service, { labels: { 'app.version': '42' }, extra: { Env: ['MODE=original'] } });
    const state = memoryPluginStateStore();
    const on = dockerPolicy(service);
    const off = dockerPolicy(service, { availability: { restartStopped: true, recreateRemoved: false } });
    expect(await dockerTarget.ensureAvailability!(scaleRequest(on), testContext({ state }))).toEqual([]); // records the spec
    await testDocker().getContainer(template.Id).remove({ force: true });

    // Act
    const whenOff = await dockerTarget.ensureAvailability!(scaleRequest(off), testContext({ state }));
    const afterOff = await serviceContainers(service);
    const whenOn = await dockerTarget.ensureAvailability!(scaleRequest(on), testContext({ state }));

    // Assess
    expect(whenOff).toEqual([]);
    expect(afterOff).toEqual([]);
    expect(whenOn).toHaveLength(1);
    expect(whenOn[0]).toMatchObject({ action: 'recreate', status: 'Successful', details: { container: template.Name.slice(1), previousId: template.Id.slice(0, 12) } });
    const recreated = await byName(template.Name.slice(1));
    expect(recreated.Id).not.toBe(template.Id);
    expect(recreated.State.Running).toBe(true);
    expect(recreated.Config.Labels).toEqual(template.Config.Labels);
    expect(recreated.Config.Env).toEqual(template.Config.Env);
    expect(recreated.Config.Labels['autoscaler.managed']).toBeUndefined();
    // Running is all a container without a healthcheck promises; httpd may take a moment to listen.
    expect(await waitFor('the recreated container to serve', () => httpGet(`http://${recreated.NetworkSettings.Networks[network()]!.IPAddress}:${HTTP_PORT}/`))).toBe('ok');
  });

  it('removes a clone the load balancer refused and reports Failed with details', async () => {
    // Prepare
    const service = serviceName('lbfail');
    await createTemplate(service);
    const lb = new RecordingLoadBalancer();
    lb.failRegisterOn.add(2);
    const policy = dockerPolicy(service, { target: { parallelism: 2 } });

    // Act
    const error = await failureOf(dockerTarget.scale(scaleRequest(policy, lb), 3, testContext()));

    // Assess
    expect(error).toBeInstanceOf(DockerScaleError);
    const details = (error as DockerScaleError).details as { replicas: number; created: Array<{ name: string }>; failed: Array<{ name: string; error: string; removed: boolean }> };
    expect((error as Error).message).toMatch(/failed for 1 of 2 clones: load balancer \(haproxy\) register of .* failed: runtime API refused add server/);
    expect(details.replicas).toBe(2);
    expect(details.created).toHaveLength(1);
    expect(details.failed).toEqual([expect.objectContaining({ removed: true })]);
    const left = await serviceContainers(service);
    expect(left).toHaveLength(2);
    expect(names(left)).not.toContain(details.failed[0]!.name);
    expect(lb.names('register')).toEqual([details.created[0]!.name]);
  });

  it('sweeps managed containers that are not running, keeps originals, and reconciles the load balancer to the running ones', async () => {
    // Prepare
    const service = serviceName('sweep');
    const template = await createTemplate(service);
    const stoppedOriginal = await createTemplate(service, { start: false });
    const exitedClone = await createTemplate(service, { managed: true, cmd: ['true'] });
    await testDocker().getContainer(exitedClone.Id).wait();
    const neverStartedClone = await createTemplate(service, { managed: true, start: false });
    const lb = new RecordingLoadBalancer();
    const policy = dockerPolicy(service, { target: { startTimeoutSeconds: 1 } });
    await new Promise((r) => setTimeout(r, 1_100)); // past the start window: the created clone is an orphan now

    // Act
    const result = await dockerTarget.reconcile!(scaleRequest(policy, lb), testContext());

    // Assess
    expect([...(result.swept as string[])].sort()).toEqual([exitedClone.Name.slice(1), neverStartedClone.Name.slice(1)].sort());
    expect(names(await serviceContainers(service))).toEqual([template.Name.slice(1), stoppedOriginal.Name.slice(1)].sort());
    const ip = (await byName(template.Id)).NetworkSettings.Networks[network()]!.IPAddress;
    expect(lb.events).toEqual([{ op: 'reconcile', members: [{ name: template.Name.slice(1), address: ip, port: HTTP_PORT }], states: {} }]);
  });

  it('offers its capabilities to load balancers: members are the running containers at their network address; container access reads labels and reports a missing path as absent', async () => {
    // Prepare
    const service = serviceName('capabilities');
    const template = await createTemplate(service);
    await createTemplate(service, { start: false });
    const policy = dockerPolicy(service);
    const ctx = testContext();

    // Act
    const members = await dockerTarget.members!(scaleRequest(policy), ctx);
    const access = dockerTarget.containers!(policy.target as DockerTarget, ctx);
    const labels = await access.labels(template.Name.slice(1));
    const missing = await access.getArchive(template.Name.slice(1), '/no/such/path');

    // Assess
    const ip = (await byName(template.Id)).NetworkSettings.Networks[network()]!.IPAddress;
    expect(members).toEqual([{ name: template.Name.slice(1), address: ip, port: HTTP_PORT }]);
    expect(access.label).toMatch(/^docker endpoint "local" \(unix:\/\//);
    expect(labels['autoscaler.service']).toBe(service);
    expect(missing).toBeUndefined();
  });

  it('leaves a freshly created clone alone (it may be another evaluation still starting it)', async () => {
    // Prepare
    const service = serviceName('fresh');
    await createTemplate(service);
    const starting = await createTemplate(service, { managed: true, start: false });

    // Act
    const result = await dockerTarget.reconcile!(scaleRequest(dockerPolicy(service)), testContext());

    // Assess
    expect(result.swept).toEqual([]);
    expect(names(await serviceContainers(service))).toContain(starting.Name.slice(1));
  });

  it('clones from the recorded spec when every container of the service is gone', async () => {
    // Prepare
    const service = serviceName('fromspec');
    const template = await createTemplate(service, { labels: { 'app.version': '7' } });
    const state = memoryPluginStateStore();
    const policy = dockerPolicy(service, { availability: { restartStopped: true, recreateRemoved: false } });
    await dockerTarget.ensureAvailability!(scaleRequest(policy), testContext({ state }));
    await testDocker().getContainer(template.Id).remove({ force: true });

    // Act
    const result = await dockerTarget.scale(scaleRequest(policy), 1, testContext({ state }));

    // Assess
    expect(result.details).toMatchObject({ template: `${template.Name.slice(1)} (recorded spec)` });
    const [clone] = await serviceContainers(service);
    expect(clone).toMatchObject({ State: 'running', Labels: { 'app.version': '7', 'autoscaler.managed': 'true' } });
  });

  it('fails with the host named when the service has nothing to clone', async () => {
    // Prepare
    const service = serviceName('empty');

    // Act
    const error = await failureOf(dockerTarget.scale(scaleRequest(dockerPolicy(service)), 1, testContext()));

    // Assess
    expect((error as Error).message).toMatch(new RegExp(`docker endpoint "local" \\(unix://.*\\): service "${service}" has no container to clone`));
  });
});
