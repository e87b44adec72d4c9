import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { noEndpoints, type Endpoints } from '../../shared/config/endpoints.ts';
import { call, dockerHost, forgetDockerHosts } from '../../shared/plugins/targets/docker/client.ts';
import { dockerTarget } from '../../shared/plugins/targets/docker/target.ts';
import { describeWithServices } from '../support/services.ts';
import { dockerPolicy, failureOf, plainContext, scaleRequest, serviceName } from './helpers.ts';

const tlsFiles = (dir: string, ca = 'ca.pem') => ({ ca: { file: join(dir, ca) }, cert: { file: join(dir, 'cert.pem') }, key: { file: join(dir, 'key.pem') } });
const withDocker = (docker: Endpoints['docker']): Endpoints => ({ ...noEndpoints, docker });
const describeOn = (endpoint: string, endpoints: Endpoints, extra = {}) =>
  dockerTarget.describe(scaleRequest(dockerPolicy(serviceName('ep'), { target: { endpoint } })), plainContext(endpoints, extra));

describeWithServices('docker endpoints: mutual TLS on a real Docker Engine', ['DOCKER_TLS_HOST', 'DOCKER_TLS_DIR', 'DOCKER_BAD_TLS_DIR'], () => {
  const host = process.env.DOCKER_TLS_HOST!;
  afterEach(() => forgetDockerHosts());

  it('talks to the engine over mutual TLS with certificates from files', async () => {
    // Prepare
    const endpoints = withDocker({ remote: { host, tls: tlsFiles(process.env.DOCKER_TLS_DIR!) } });

    // Act
    const state = await describeOn('remote', endpoints);

    // Assess
    expect(state).toMatchObject({ replicas: 0, labels: {} });
  });

  it('reads TLS material from Secrets Manager (a local secret reader standing in), including a JSON key', async () => {
    // Prepare
    const dir = process.env.DOCKER_TLS_DIR!;
    const secrets: Record<string, string> = {
      'docker/edge/ca': readFileSync(join(dir, 'ca.pem'), 'utf8'),
      'docker/edge/client': JSON.stringify({ cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') }),
    };
    const asked: string[] = [];
    const getSecret = async (id: string) => {
      asked.push(id);
      return secrets[id]!;
    };
    const endpoints = withDocker({
      edge: {
        host,
        tls: { ca: { secretId: 'docker/edge/ca' }, cert: { secretId: 'docker/edge/client', jsonKey: 'cert' }, key: { secretId: 'docker/edge/client', jsonKey: 'key' } },
      },
    });

    // Act
    const state = await describeOn('edge', endpoints, { getSecret });

    // Assess
    expect(state.replicas).toBe(0);
    expect(asked.sort()).toEqual(['docker/edge/ca', 'docker/edge/client', 'docker/edge/client']);
  });

  it('defect 9: a rotated client certificate is used within 5 minutes (the secrets promise) without recycling the container (injected clock)', async () => {
    // Prepare: the client certificate secret first holds a pair the engine refuses, then is rotated
    // to a good one. The clock is injected: no sleeping through minutes.
    const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');
    const good = process.env.DOCKER_TLS_DIR!;
    const pair = (dir: string) => JSON.stringify({ cert: read(dir, 'cert.pem'), key: read(dir, 'key.pem') });
    let clientSecret = pair(process.env.DOCKER_BAD_TLS_DIR!);
    const getSecret = async (id: string) => (id === 'docker/rotating/ca' ? read(good, 'ca.pem') : clientSecret);
    const endpoints = withDocker({
      rotating: {
        host,
        tls: { ca: { secretId: 'docker/rotating/ca' }, cert: { secretId: 'docker/rotating/client', jsonKey: 'cert' }, key: { secretId: 'docker/rotating/client', jsonKey: 'key' } },
      },
    });
    let clock = Date.parse('2026-12-01T03:00:00Z');
    const now = () => clock;
    const ctx = plainContext(endpoints, { getSecret });
    const ping = async () => {
      const client = await dockerHost('rotating', ctx, now);
      return call(client, 'ping', () => client.docker.ping()).then(() => 'accepted', (err: Error) => err.message);
    };
    const promisedMs = 5 * 60_000;

    // Act
    const beforeRotation = await ping();
    clientSecret = pair(good);
    clock += promisedMs;
    const afterRotation = await ping();
    const rotatedClient = await dockerHost('rotating', ctx, now);
    clock += promisedMs;
    const unchangedLater = await dockerHost('rotating', ctx, now);

    // Assess: refused before, accepted once the interval passed; unchanged material keeps the client (and its connections).
    expect(beforeRotation).toMatch(/TLS: the engine refused our client certificate/);
    expect(afterRotation).toBe('accepted');
    expect(unchangedLater).toBe(rotatedClient);
  });

  it('is refused by the engine when the client certificate is not signed by the engine CA', async () => {
    // Prepare
    const endpoints = withDocker({ intruder: { host, tls: tlsFiles(process.env.DOCKER_BAD_TLS_DIR!) } });

    // Act
    const error = await failureOf(describeOn('intruder', endpoints));

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(`docker endpoint "intruder" (${host})`);
    expect(error.message).toMatch(/TLS: the engine refused our client certificate/);
  });

  it('refuses an engine whose server certificate the configured CA did not sign', async () => {
    // Prepare
    const endpoints = withDocker({ spoofed: { host, tls: tlsFiles(process.env.DOCKER_BAD_TLS_DIR!, 'untrusted-ca.pem') } });

    // Act
    const error = await failureOf(describeOn('spoofed', endpoints));

    // Assess
    expect(error.message).toContain(`docker endpoint "spoofed" (${host})`);
    expect(error.message).toMatch(/TLS: the engine's certificate is not trusted/);
  });

  it('names the endpoint and the file when a certificate file cannot be read', async () => {
    // Prepare
    const endpoints = withDocker({ remote: { host, tls: { ...tlsFiles(process.env.DOCKER_TLS_DIR!), key: { file: '/nonexistent/key.pem' } } } });

    // Act
    const error = await failureOf(describeOn('remote', endpoints));

    // Assess
    expect(error.message).toBe(
      `docker endpoint "remote" (${host}): cannot read TLS client key from file /nonexistent/key.pem: ENOENT: no such file or directory, open '/nonexistent/key.pem'`,
    );
  });
});

describeWithServices('docker endpoints: plain TCP and unreachable hosts', [], () => {
  const servers: Server[] = [];
  afterEach(async () => {
    forgetDockerHosts();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  it('refuses plain TCP to a non-loopback host with a clear error, without connecting', async () => {
    // Prepare: a listener on this machine's own non-loopback address counts any connection attempt.
    const address = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? '192.0.2.1';
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as AddressInfo).port;
    const endpoints = withDocker({ lan: { host: `tcp://${address}:${port}` } });

    // Act
    const error = await failureOf(describeOn('lan', endpoints));

    // Assess
    expect(error.message).toBe(
      `docker endpoint "lan" (tcp://${address}:${port}): plain TCP to ${address} is refused; a remote Docker host must be reached over mutual TLS ` +
        '(set tls: {ca, cert, key} on the endpoint, each a file or a Secrets Manager secret)',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(connections).toBe(0);
  });

  it('allows plain TCP to loopback (an engine API stand-in on 127.0.0.1)', async () => {
    // Prepare: answers the one call describe makes, as the Engine API would.
    const paths: string[] = [];
    const server = createHttpServer((req, res) => {
      paths.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ Id: 'a'.repeat(64), Names: ['/web-1'], State: 'running', Created: 1, Labels: { 'autoscaler.service': 'web', tier: 'front' } }]));
    });
    servers.push(server as unknown as Server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    // Act
    const state = await describeOn('loop', withDocker({ loop: { host: `tcp://127.0.0.1:${port}` } }));

    // Assess
    expect(state.replicas).toBe(1);
    expect(state.labels).toEqual({ 'autoscaler.service': 'web', tier: 'front' });
    expect(decodeURIComponent(paths[0]!)).toContain('"label":["autoscaler.service=');
  });

  it('names the host when it cannot be reached', async () => {
    // Prepare: a port nothing listens on.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const endpoints = withDocker({ gone: { host: `tcp://127.0.0.1:${port}` } });

    // Act
    const error = await failureOf(describeOn('gone', endpoints));

    // Assess
    expect(error.message).toMatch(new RegExp(`^docker endpoint "gone" \\(tcp://127\\.0\\.0\\.1:${port}\\): list containers of service ".*" failed: .*ECONNREFUSED`));
  });

  it('names the configured endpoints when the policy names an unknown one', async () => {
    // Act
    const error = await failureOf(describeOn('nowhere', withDocker({ edge: { socket: '/run/docker.sock' } })));

    // Assess
    expect(error.message).toBe('unknown docker endpoint "nowhere" (configured: edge)');
  });
});
