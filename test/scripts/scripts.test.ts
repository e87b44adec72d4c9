/**
 * Scripts: `scripts/test-services.sh stop` against a throw-away state folder (TEST_SERVICES_STATE), never the
 * shared services: stand-in processes named like the services (a symlink to `sleep` called
 * redis-server runs with that command name) hold the pid files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../scripts/test-services.sh', import.meta.url));
const sleepBinary = spawnSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).stdout.trim();

let dir: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'test-services-stop-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Starts `sleep` under the command name `name` and resolves once it runs; `exited` settles when it ends. */
async function standIn(name: string) {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const path = join(bin, name);
  if (!existsSync(path)) await symlink(sleepBinary, path);
  const child = spawn(path, ['600'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, child, exited };
}

/**
 * Runs `stop` without blocking the event loop: the stand-ins are this process's children, and Node
 * reaps a child only from its loop (an unreaped one still answers `kill -0`, so stop would wait on it).
 */
function stop(): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', [script, 'stop'], { env: { ...process.env, TEST_SERVICES_STATE: dir } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe('scripts/test-services.sh stop (throw-away state folder)', () => {
  it('stops each service by its recorded PID, removes stale pid files, leaves a reused PID alone, and is idempotent', { timeout: 60_000 }, async () => {
    // Prepare
    await mkdir(join(dir, 'redis'), { recursive: true });
    await mkdir(join(dir, 'haproxy'), { recursive: true });
    await mkdir(join(dir, 'nginx'), { recursive: true });
    const redis = await standIn('redis-server');
    const haproxy = await standIn('haproxy');
    const stranger = await standIn('not-nginx'); // the PID nginx recorded now runs something else
    const gone = await standIn('dockerd');
    gone.child.kill('SIGKILL');
    await gone.exited;
    await writeFile(join(dir, 'redis', 'redis-18379.pid'), `${redis.pid}\n`);
    await writeFile(join(dir, 'haproxy', 'haproxy.pid'), `${haproxy.pid}\n`);
    await writeFile(join(dir, 'nginx', 'nginx.pid'), `${stranger.pid}\n`);
    await writeFile(join(dir, 'docker.pid'), `${gone.pid}\n`);

    // Act
    const first = await stop();
    await Promise.all([redis.exited, haproxy.exited]);
    const second = await stop();

    // Assess
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`stopping redis-server (PID ${redis.pid})`);
    expect(first.stdout).toContain(`stopping haproxy (PID ${haproxy.pid})`);
    expect(first.stdout).toContain('stopped 2');
    expect(first.stderr).toContain(`names PID ${stranger.pid}, which runs "not-nginx", not nginx: left alone`);
    expect(stranger.child.exitCode).toBeNull();
    expect(stranger.child.signalCode).toBeNull();
    for (const file of ['redis/redis-18379.pid', 'haproxy/haproxy.pid', 'nginx/nginx.pid', 'docker.pid']) expect(existsSync(join(dir, file))).toBe(false);
    expect(second.status).toBe(0);
    expect(second.stdout.trim()).toBe('test-services: nothing was running');
  });

  it('an unknown argument is a usage error that starts nothing', () => {
    // Act
    const result = spawnSync('bash', [script, 'restart'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TEST_SERVICES_STATE: dir } });
    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: bash scripts/test-services.sh [stop]');
  });
});

describe('scripts/bootstrap.sh', () => {
  it('names the two jobs it runs when given another', () => {
    // Act
    const result = spawnSync('bash', [fileURLToPath(new URL('../../scripts/bootstrap.sh', import.meta.url)), 'deploy'], { encoding: 'utf8', timeout: 60_000 });
    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: bash scripts/bootstrap.sh test|demo');
  });
});
