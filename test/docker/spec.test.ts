// Pure parts of the Docker target: specs, clones, members, endpoint checks, spec stores.
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { isLoopback, parseTcpHost } from '../../shared/plugins/targets/docker/client.ts';
import { memberOf, servicePort } from '../../shared/plugins/targets/docker/members.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import { stateSpecStore, type RecordedSpec } from '../../shared/plugins/targets/docker/spec-store.ts';
import { cloneName, cloneSpec, compareCreated, ephemeralPortBindings, specFromInspect } from '../../shared/plugins/targets/docker/spec.ts';
import { templateOrder } from '../../shared/plugins/targets/docker/target.ts';

const ID = 'abcdef0123456789'.repeat(4);

function inspectInfo(overrides: { Config?: object; HostConfig?: object; Networks?: object; Ports?: object } = {}): Docker.ContainerInspectInfo {
  return {
    Id: ID,
    Name: '/web-1',
    Image: 'sha256:1111',
    Created: '2026-01-01T00:00:00.123456789Z',
    State: { Status: 'running', Running: true },
    Config: {
      Hostname: ID.slice(0, 12),
      Domainname: '',
      Image: 'registry.example/web:1.2',
      Cmd: ['serve'],
      Entrypoint: ['/entry'],
      Env: ['A=1'],
      Labels: { 'autoscaler.service': 'web', 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', tier: 'front' },
      ExposedPorts: { '8080/tcp': {} },
      Healthcheck: { Test: ['CMD', 'true'], Interval: 1_000_000_000 },
      ...overrides.Config,
    },
    HostConfig: {
      NetworkMode: 'front',
      NanoCpus: 500_000_000,
      Memory: 67_108_864,
      Binds: ['data:/data'],
      RestartPolicy: { Name: 'always', MaximumRetryCount: 0 },
      PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
      ContainerIDFile: '',
      Links: ['/db:/web-1/database'],
      ...overrides.HostConfig,
    },
    NetworkSettings: {
      Ports: overrides.Ports ?? {},
      Networks: overrides.Networks ?? {
        front: { Aliases: [ID.slice(0, 12), 'web'], IPAddress: '172.18.0.5', IPAMConfig: { IPv4Address: '172.18.0.5' } },
        back: { Aliases: [ID.slice(0, 12)], IPAddress: '172.19.0.7' },
      },
    },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('specFromInspect (the recorded spec, for recreating the same container)', () => {
  it('keeps name, fixed ports, static IPs and a hand-set hostname; first network in the body, the others to connect later', () => {
    // Act
    const spec = specFromInspect(inspectInfo({ Config: { Hostname: 'web-host' } }));

    // Assess
    expect(spec.name).toBe('web-1');
    expect(spec.imageId).toBe('sha256:1111');
    expect(spec.body).toMatchObject({ Image: 'registry.example/web:1.2', Cmd: ['serve'], Entrypoint: ['/entry'], Env: ['A=1'], Hostname: 'web-host' });
    expect(spec.body.Labels).toHaveProperty('com.docker.compose.project', 'shop');
    expect(spec.body.HostConfig).toMatchObject({ PortBindings: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] }, Links: ['db:database'] });
    expect(spec.body.HostConfig).not.toHaveProperty('ContainerIDFile');
    expect(spec.body.NetworkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ['web'], IPAMConfig: { IPv4Address: '172.18.0.5' } } } });
    expect(spec.extraNetworks).toEqual([{ network: 'back', endpointConfig: {} }]);
  });

  it('leaves out a hostname Docker made up (the short container id)', () => {
    expect(specFromInspect(inspectInfo()).body).not.toHaveProperty('Hostname');
  });

  it('attaches no networks for host and container network modes', () => {
    // Act
    const spec = specFromInspect(inspectInfo({ HostConfig: { NetworkMode: 'host' }, Networks: { host: { IPAddress: '' } } }));

    // Assess
    expect(spec.body.NetworkingConfig).toBeUndefined();
    expect(spec.extraNetworks).toEqual([]);
  });
});

describe('cloneSpec (a new replica of the template)', () => {
  it('drops hostname, compose labels, fixed host ports and static IPs; adds the managed label; uses the given image', () => {
    // Prepare
    const recorded = specFromInspect(inspectInfo({ Config: { Hostname: 'web-host', Domainname: 'example.com' } }));

    // Act
    const clone = cloneSpec(recorded, 'web-as-1', 'sha256:1111');

    // Assess
    expect(clone.name).toBe('web-as-1');
    expect(clone.body).not.toHaveProperty('Hostname');
    expect(clone.body).not.toHaveProperty('Domainname');
    expect(clone.body.Image).toBe('sha256:1111');
    expect(clone.body.Labels).toEqual({ 'autoscaler.service': 'web', tier: 'front', 'autoscaler.managed': 'true' });
    expect(clone.body.HostConfig!.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '' }] });
    expect(clone.body.HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 67_108_864, Binds: ['data:/data'], RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
    expect(clone.body.Healthcheck).toEqual({ Test: ['CMD', 'true'], Interval: 1_000_000_000 });
    expect(clone.body.NetworkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ['web'] } } });
    // The recorded spec is not changed by cloning it.
    expect(recorded.body.HostConfig!.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
  });

  it('makes every binding of every port ephemeral, keeping the host IP', () => {
    expect(ephemeralPortBindings({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '80' }, { HostIp: '', HostPort: '81' }], '53/udp': null })).toEqual({
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }, { HostIp: '', HostPort: '' }],
      '53/udp': [],
    });
  });

  it('names clones after the service, safe for Docker', () => {
    expect(cloneName('team/web:v2', 36 ** 3, 'a1b2c3')).toBe('team-web-v2-as-1000-a1b2c3');
    expect(cloneName('web', 0, 'ffffff')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });
});

describe('memberOf (how the load balancer reaches a container)', () => {
  it('uses the IP on the primary network and the service port', () => {
    expect(memberOf(inspectInfo(), 8080, '10.0.0.1')).toEqual({ name: 'web-1', address: '172.18.0.5', port: 8080 });
  });

  it('falls back to the published host port on the Docker host when the container has no IP of its own', () => {
    // Prepare
    const info = inspectInfo({ HostConfig: { NetworkMode: 'host' }, Networks: { host: { IPAddress: '' } }, Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '32771' }] } });

    // Act / Assess
    expect(memberOf(info, 8080, '10.0.0.1')).toEqual({ name: 'web-1', address: '10.0.0.1', port: 32771 });
  });

  it('returns nothing when the container cannot be reached at all', () => {
    expect(memberOf(inspectInfo({ HostConfig: { NetworkMode: 'none' }, Networks: { none: { IPAddress: '' } } }), 8080, '10.0.0.1')).toBeUndefined();
  });

  it('takes the port from the load balancer, else the lowest exposed TCP port, else 80', () => {
    expect(servicePort({ type: 'haproxy', endpoint: 'lb', backend: 'web', port: 9000, drainTimeoutSeconds: 30 }, inspectInfo())).toBe(9000);
    expect(servicePort({ type: 'traefik' }, inspectInfo({ Config: { ExposedPorts: { '53/udp': {}, '9090/tcp': {}, '8081/tcp': {} } } }))).toBe(8081);
    expect(servicePort(undefined, inspectInfo({ Config: { ExposedPorts: undefined } }))).toBe(80);
  });
});

describe('endpoint checks', () => {
  it('treats only localhost and 127.0.0.0/8 as loopback', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3'].map(isLoopback)).toEqual([true, true, true]);
    expect(['10.0.0.1', 'docker.internal', '127.example.com', '0.0.0.0'].map(isLoopback)).toEqual([false, false, false, false]);
  });

  it('parses tcp://host:port and rejects anything else with the value', () => {
    expect(parseTcpHost('tcp://edge-1.internal:2376')).toEqual({ hostname: 'edge-1.internal', port: 2376 });
    expect(() => parseTcpHost('http://edge:2376')).toThrow('docker endpoint host "http://edge:2376": expected tcp://host:port');
    expect(() => parseTcpHost('tcp://edge:70000')).toThrow('port must be 1-65535');
  });
});

describe('compareCreated', () => {
  it('orders Docker creation times to the nanosecond although Docker trims trailing zeros', () => {
    expect(compareCreated('2026-01-01T00:00:05.12345Z', '2026-01-01T00:00:05.123456789Z')).toBe(-1);
    expect(compareCreated('2026-01-01T00:00:05Z', '2026-01-01T00:00:05.000000001Z')).toBe(-1);
    expect(compareCreated('2026-01-01T00:00:06Z', '2026-01-01T00:00:05.9Z')).toBe(1);
    expect(compareCreated('2026-01-01T00:00:05.1Z', '2026-01-01T00:00:05.100000000Z')).toBe(0);
  });
});

describe('templateOrder', () => {
  it('prefers the oldest running original, then stopped originals, then clones', () => {
    // Prepare
    const c = (name: string, created: number, state: string, managed = false) =>
      ({ Id: name, Names: [`/${name}`], Created: created, State: state, Labels: managed ? { 'autoscaler.managed': 'true' } : {} }) as unknown as Docker.ContainerInfo;

    // Act
    const order = templateOrder([c('clone-old', 1, 'running', true), c('orig-stopped', 2, 'exited'), c('orig-new', 5, 'running'), c('orig-old', 3, 'running')]);

    // Assess
    expect(order.map((x) => x.Id)).toEqual(['orig-old', 'orig-new', 'orig-stopped', 'clone-old']);
  });
});

describe('spec stores', () => {
  const recorded = (name: string, containerId: string): RecordedSpec => ({
    containerId,
    recordedAt: '2026-01-01T00:00:00.000Z',
    spec: { name, imageId: 'sha256:1', body: { Image: 'web:1', Env: ['A=1'] }, extraNetworks: [] },
  });

  it('specs in a plug-in state namespace are kept per service, forgotten on delete, and the environment is stored sealed', async () => {
    // Prepare
    const state = memoryPluginStateStore().namespace('docker');
    const store = stateSpecStore(state);

    // Act
    await Promise.all([store.put('docker/edge/web', recorded('web-1', 'a')), store.put('docker/edge/web', recorded('web-2', 'b')), store.put('docker/edge/api', recorded('api-1', 'c'))]);
    await store.delete('docker/edge/web', 'web-2');
    const raw = await state.list('');

    // Assess
    expect([...(await store.list('docker/edge/web')).keys()]).toEqual(['web-1']);
    expect((await store.list('docker/edge/api')).get('api-1')).toEqual(recorded('api-1', 'c'));
    expect((await store.list('docker/other/web')).size).toBe(0);
    expect([...raw.keys()].sort()).toEqual(['specs/docker/edge/api/api-1', 'specs/docker/edge/web/web-1']);
    expect(JSON.stringify([...raw.values()])).not.toContain('A=1');
  });

  it('a service key that is a prefix of another does not see its specs', async () => {
    // Prepare
    const store = stateSpecStore(memoryPluginStateStore().namespace('docker'));
    await store.put('docker/edge/web2', recorded('web2-1', 'a'));

    // Act
    const listed = await store.list('docker/edge/web');

    // Assess
    expect(listed.size).toBe(0);
  });

  it('a memory store hands out copies', async () => {
    // Prepare
    const store = stateSpecStore(memoryPluginStateStore().namespace('docker'));
    const spec = recorded('web-1', 'a');
    await store.put('k', spec);

    // Act
    (spec.spec.body.Env as string[]).push('B=2');

    // Assess
    expect((await store.list('k')).get('web-1')!.spec.body.Env).toEqual(['A=1']);
  });
});
