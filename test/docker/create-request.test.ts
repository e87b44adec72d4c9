// The create call's wire format, checked against a recording Engine API stand-in on loopback
// (a real engine accepts both forms, so only the request itself shows the difference).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { forgetDockerHosts } from '../../shared/plugins/targets/docker/client.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import { dockerTarget } from '../../shared/plugins/targets/docker/target.ts';
import { dockerPolicy, scaleRequest } from './helpers.ts';

const TEMPLATE_ID = 't'.repeat(64);
const CLONE_ID = 'c'.repeat(64);

function templateInspect() {
  return {
    Id: TEMPLATE_ID,
    Name: '/web-1',
    Image: 'sha256:img',
    Created: '2026-01-01T00:00:00Z',
    State: { Status: 'running', Running: true },
    Config: { Hostname: TEMPLATE_ID.slice(0, 12), Image: 'web:1', Cmd: ['serve'], Env: ['API_TOKEN_FILE=/run/secrets/token'], Labels: { 'autoscaler.service': 'web' } },
    HostConfig: { NetworkMode: 'front' },
    NetworkSettings: { Ports: {}, Networks: { front: { IPAddress: '172.18.0.2' }, back: { IPAddress: '172.19.0.2' } } },
  };
}

describe('docker target create request (recording Engine API stand-in on 127.0.0.1)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    forgetDockerHosts();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends the create body in the request body and only the name in the query; connects the second network after create, before start', async () => {
    // Prepare
    const requests: Array<{ method: string; url: string; body: string }> = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const url = req.url ?? '';
        requests.push({ method: req.method ?? '', url, body });
        const json = (status: number, value: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        if (url.startsWith('/containers/json')) return json(200, [{ Id: TEMPLATE_ID, Names: ['/web-1'], State: 'running', Created: 1, Labels: { 'autoscaler.service': 'web' } }]);
        if (url.startsWith(`/containers/${TEMPLATE_ID}/json`)) return json(200, templateInspect());
        if (url.startsWith('/images/')) return json(200, { Id: 'sha256:img' });
        if (url.startsWith('/containers/create')) return json(201, { Id: CLONE_ID, Warnings: [] });
        if (url.startsWith('/networks/')) return json(200, {});
        if (url.startsWith(`/containers/${CLONE_ID}/start`)) return json(204, {});
        if (url.startsWith(`/containers/${CLONE_ID}/json`)) {
          return json(200, { ...templateInspect(), Id: CLONE_ID, Name: '/web-as-x', NetworkSettings: { Ports: {}, Networks: { front: { IPAddress: '172.18.0.3' } } } });
        }
        return json(404, { message: `unexpected ${req.method} ${url}` });
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const endpoints = { ...noEndpoints, docker: { local: { host: `tcp://127.0.0.1:${port}` } } };
    const policy = dockerPolicy('web', { loadBalancer: undefined });

    // Act
    const result = await dockerTarget.scale(scaleRequest(policy), 2, { endpoints, signal: AbortSignal.timeout(10_000), state: memoryPluginStateStore() } as never);

    // Assess
    expect(result.replicas).toBe(2);
    const create = requests.find((r) => r.url.startsWith('/containers/create'))!;
    const query = new URL(create.url, 'http://x').searchParams;
    expect([...query.keys()]).toEqual(['name']);
    expect(query.get('name')).toMatch(/^web-as-/);
    const body = JSON.parse(create.body) as Record<string, any>;
    expect(body).toMatchObject({ Image: 'web:1', Cmd: ['serve'], Env: ['API_TOKEN_FILE=/run/secrets/token'], Labels: { 'autoscaler.service': 'web', 'autoscaler.managed': 'true' } });
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { front: {} } });
    const order = requests.map((r) => `${r.method} ${r.url.split('?')[0]}`);
    const connect = order.indexOf('POST /networks/back/connect');
    expect(connect).toBeGreaterThan(order.indexOf('POST /containers/create'));
    expect(connect).toBeLessThan(order.indexOf(`POST /containers/${CLONE_ID}/start`));
    expect(JSON.parse(requests[connect]!.body)).toEqual({ Container: CLONE_ID, EndpointConfig: {} });
  });
});
