import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeWithServices } from '../support/services.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI without blocking the event loop (the demo takes ~45 s). */
function autoscaler(args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/autoscaler.js'), ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // SIGINT, so that even a run that overstays cleans up its containers.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('autoscaler demo without services', () => {
  it('names Docker and HAProxy when neither answers, and says how to get them', async () => {
    // Prepare: a socket that does not exist, and a loopback port nothing listens on
    const env = { ...process.env, DOCKER_HOST: 'unix:///nonexistent/autoscaler-demo/docker.sock', HAPROXY_RUNTIME: '127.0.0.1:1', HAPROXY_FRONTEND: '127.0.0.1:2' };

    // Act
    const { status, stdout, stderr } = await autoscaler(['demo', '--duration', '20', '--json'], env);

    // Assess
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('Docker is not answering at unix:///nonexistent/autoscaler-demo/docker.sock');
    expect(stderr).toContain("HAProxy's runtime API is not answering at 127.0.0.1:1");
    expect(stderr).toContain('bash scripts/test-services.sh');
  });

  it('refuses a frontend that is not on loopback, and a duration out of range', async () => {
    // Act
    const remote = await autoscaler(['demo'], { ...process.env, HAPROXY_FRONTEND: '10.0.0.1:80' });
    const short = await autoscaler(['demo', '--duration', '5']);

    // Assess
    expect(remote.status).toBe(1);
    expect(remote.stderr).toContain('HAPROXY_FRONTEND: "10.0.0.1:80" must be 127.0.0.1:PORT');
    expect(short.status).toBe(2);
    expect(short.stderr).toContain('--duration: "5" must be a whole number of seconds from 20 to 3600');
  });
});

describeWithServices('autoscaler demo (real Docker Engine, HAProxy 2.6, dynalite)', ['DOCKER_HOST', 'HAPROXY_RUNTIME', 'HAPROXY_FRONTEND'], () => {
  it('--duration 40 --json: scales out and back in under the ramp, without a failed request', { timeout: 150_000 }, async () => {
    // Act
    const { status, stdout, stderr } = await autoscaler(['demo', '--duration', '40', '--json'], process.env, 120_000);

    // Assess: stdout is exactly the one summary line
    expect(status, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as Record<string, number>;
    expect(Object.keys(summary).sort()).toEqual(['failedRequests', 'peakReplicas', 'scaleIns', 'scaleOuts', 'underProvisionedSeconds']);
    expect(summary.scaleOuts).toBeGreaterThanOrEqual(1);
    expect(summary.scaleIns).toBeGreaterThanOrEqual(1);
    expect(summary.peakReplicas).toBeGreaterThan(1);
    expect(summary.peakReplicas).toBeLessThanOrEqual(6);
    expect(summary.failedRequests).toBe(0);
    expect(summary.underProvisionedSeconds).toBeGreaterThanOrEqual(0);
    expect(summary.underProvisionedSeconds).toBeLessThan(40);
    // The audit table and the cleanup went to stderr, with every scaling action in it.
    expect(stderr.match(/ scaleOut +Successful/g)?.length).toBe(summary.scaleOuts);
    expect(stderr.match(/ scaleIn +Successful/g)?.length).toBe(summary.scaleIns);
    expect(stderr).toMatch(/Cleaned up: \d+ containers?, \d+ HAProxy servers?\./);
  });

  it('leaves no container or HAProxy server of a demo service behind', async () => {
    // Prepare
    const { settingsFromEnvironment, dockerOf, runtimeOf } = await import('../../shared/demo/services.ts');
    const { showServersState } = await import('../../shared/haproxy/runtime.ts');
    const settings = settingsFromEnvironment();

    // Act
    const containers = await (await dockerOf(settings)).docker.listContainers({ all: true, filters: { label: ['autoscaler.service'] } });
    const servers = await showServersState(runtimeOf(settings), settings.backend);

    // Assess
    expect(containers.filter((c) => /^demo-[0-9a-f]{6}$/.test(c.Labels['autoscaler.service'] ?? '')).map((c) => c.Names[0])).toEqual([]);
    expect(servers.filter((s) => /^as-[0-9a-f]{6}-demo-[0-9a-f]{6}-/.test(s.name)).map((s) => s.name)).toEqual([]);
  });
});
