/**
 * How long until a new member serves through HAProxy: the runtime API (`add server` + enable, what
 * the haproxy load balancer plug-in does) vs rewriting the configuration and reloading HAProxy
 * (`haproxy -D -sf <old pid>`), side by side. Each approach gets its own private HAProxy 2.6.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { noEndpoints } from '../shared/config/endpoints.ts';
import { haproxyLoadBalancer } from '../shared/plugins/loadbalancers/haproxy/loadbalancer.ts';
import { DockerTarget, HaproxyLoadBalancer } from '../shared/policy/schema.ts';
import { printTable } from './table.ts';

const run = promisify(execFile);
const rounds = 10;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function member(name: string): Promise<{ name: string; address: string; port: number; server: Server }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, address: '127.0.0.1', port: (server.address() as AddressInfo).port, server };
}

/** Milliseconds from `start` until a request through `url` is answered by `name`. */
async function untilServedBy(url: string, name: string, start: number): Promise<number> {
  for (;;) {
    const body = await fetch(url, { headers: { connection: 'keep-alive' } }).then((r) => r.text(), () => '');
    if (body === name) return performance.now() - start;
    if (performance.now() - start > 10_000) throw new Error(`${name} did not serve within 10 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function config(runtimePort: number, frontendPort: number, servers: string[]): string {
  return [
    'global',
    `    stats socket ipv4@127.0.0.1:${runtimePort} level admin`,
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 10s',
    '    timeout server 10s',
    'frontend f',
    `    bind 127.0.0.1:${frontendPort}`,
    '    default_backend web',
    'backend web',
    '    balance roundrobin',
    ...servers.map((s) => `    ${s}`),
    '',
  ].join('\n');
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

export default async function (): Promise<void> {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
  } catch {
    console.log('skipped: no haproxy binary on PATH');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-bench-'));
  const pidFile = join(dir, 'haproxy.pid');
  const cfg = join(dir, 'haproxy.cfg');
  const runtimePort = await freePort();
  const frontendPort = await freePort();
  const url = `http://127.0.0.1:${frontendPort}/`;
  const started: number[] = [];
  const servers: Server[] = [];
  try {
    // ---------------------------------------------------------------- runtime API
    writeFileSync(cfg, config(runtimePort, frontendPort, []));
    await run('haproxy', ['-D', '-p', pidFile, '-f', cfg]);
    started.push(Number(readFileSync(pidFile, 'utf8')));
    const ctx = { endpoints: { ...noEndpoints, haproxy: { bench: { address: `127.0.0.1:${runtimePort}` } } }, signal: new AbortController().signal };
    const lb = haproxyLoadBalancer.create(HaproxyLoadBalancer.parse({ type: 'haproxy', endpoint: 'bench', backend: 'web', port: 80, drainTimeoutSeconds: 1 }), DockerTarget.parse({ type: 'docker', endpoint: 'x', service: 'web' }), ctx);
    const runtimeTimes: number[] = [];
    const registerTimes: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const m = await member(`rt-${i}`);
      servers.push(m.server);
      const start = performance.now();
      await lb.register([m], ctx);
      registerTimes.push(performance.now() - start);
      runtimeTimes.push(await untilServedBy(url, m.name, start));
      // Only the newest member in the backend, so the first answer from it means "serving".
      await lb.drain([m], ctx);
    }
    process.kill(started.pop()!, 'SIGUSR1');

    // ---------------------------------------------------------------- config rewrite + reload
    const reloadTimes: number[] = [];
    const reloadPort = await freePort();
    writeFileSync(cfg, config(reloadPort, frontendPort, []));
    await new Promise((r) => setTimeout(r, 300));
    await run('haproxy', ['-D', '-p', pidFile, '-f', cfg]);
    for (let i = 0; i < rounds; i++) {
      const m = await member(`rl-${i}`);
      servers.push(m.server);
      const start = performance.now();
      writeFileSync(cfg, config(reloadPort, frontendPort, [`server ${m.name} ${m.address}:${m.port} check`]));
      const old = readFileSync(pidFile, 'utf8').trim();
      await run('haproxy', ['-D', '-p', pidFile, '-f', cfg, '-sf', old]);
      reloadTimes.push(await untilServedBy(url, m.name, start));
    }
    started.push(Number(readFileSync(pidFile, 'utf8')));

    printTable([
      { approach: 'runtime API (add server, enable health, state ready)', rounds, 'median ms': percentile(runtimeTimes, 50), 'p90 ms': percentile(runtimeTimes, 90), 'register() median ms': percentile(registerTimes, 50) },
      { approach: 'rewrite config + haproxy -D -sf <old pid>', rounds, 'median ms': percentile(reloadTimes, 50), 'p90 ms': percentile(reloadTimes, 90), 'register() median ms': '—' },
    ]);
    console.log(`\nratio (reload / runtime API, medians): ${(percentile(reloadTimes, 50) / percentile(runtimeTimes, 50)).toFixed(1)}×`);
  } finally {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGUSR1');
      } catch {
        // already gone
      }
    }
    servers.forEach((s) => (s.closeAllConnections(), s.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
