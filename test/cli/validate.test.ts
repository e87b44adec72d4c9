import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cli-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function autoscaler(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/autoscaler.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

describe('autoscaler validate', () => {
  it('accepts every example and counts policies and files', () => {
    // Act
    const { status, stdout } = autoscaler(
      'validate', 'examples/web-haproxy.yaml', 'examples/sidekiq-elasticache.yaml', 'examples/seed-steps.yaml', 'examples/alarm-step-scaling.yaml',
      'examples/prometheus-requests.yaml', 'examples/haproxy-response-time.yaml', 'examples/traefik-response-time.yaml', 'examples/envoy-response-time.yaml',
      'examples/traefik-response-time-scrape.yaml', 'examples/envoy-response-time-scrape.yaml', 'examples/nginx-response-time.yaml',
    );

    // Assess
    expect(stdout.trim()).toBe('ok: 11 policies in 11 files');
    expect(status).toBe(0);
  });

  it('prints file: path: message per error and exits 1', () => {
    // Prepare
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, [
      'id: web',
      'target: { type: docker, endpoint: edge-1, service: web, replicas: 2 }',
      'capacity: { min: 3, max: 2 }',
      'metrics: [{ id: conns, source: haproxy, endpoint: lb-1, backend: web, field: scur }]',
      'rule: { type: steps, metric: conns, steps: "0=1 100=2 50=3" }',
      '',
    ].join('\n'));

    // Act
    const { status, stdout } = autoscaler('validate', bad);

    // Assess
    expect(stdout.trim().split('\n')).toEqual([
      `${bad}: target.replicas: unknown field "replicas" (allowed: type, endpoint, service, parallelism, stopGraceSeconds, startTimeoutSeconds)`,
      `${bad}: capacity.min: min 3 is above max 2`,
      `${bad}: rule.steps[2][0]: thresholds must ascend: 50 follows 100`,
    ]);
    expect(status).toBe(1);
  });

  it('--json reports policies and errors; --help exits 0; no files is a usage error', () => {
    // Prepare
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'id: [unclosed\n');

    // Act
    const json = autoscaler('validate', '--json', 'examples/web-haproxy.yaml', broken);
    const help = autoscaler('validate', '--help');
    const none = autoscaler('validate');

    // Assess
    const report = JSON.parse(json.stdout) as { ok: boolean; policies: Array<{ id: string }>; errors: Array<{ file: string; path: string; message: string }> };
    expect(report.ok).toBe(false);
    expect(report.policies.map((p) => p.id)).toEqual(['web']);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]!.message).toMatch(/^YAML syntax error: /);
    expect(json.status).toBe(1);
    expect(help.stdout).toContain('Usage: autoscaler validate');
    expect(help.status).toBe(0);
    expect(none.status).toBe(2);
  });

  it('validate examples/ passes: a Kubernetes manifest in a folder is skipped with a one-line note (was: 36 errors from examples/eks/rbac.yaml)', () => {
    // Act
    const { status, stdout, stderr } = autoscaler('validate', 'examples/');

    // Assess
    expect(stdout.trim()).toMatch(/^ok: \d+ policies in \d+ files$/);
    expect(stderr.trim().split('\n')).toContain('examples/eks/rbac.yaml: skipped: a Kubernetes manifest (kind: Role, RoleBinding), not a policy');
    expect(status).toBe(0);
  });

  it('a Kubernetes manifest named on its own is an error saying what it is; a policy with a stray kind field is still checked as a policy', () => {
    // Prepare
    const folder = join(dir, 'mixed');
    mkdirSync(folder);
    const policyWithKind = join(folder, 'policy.yaml');
    writeFileSync(policyWithKind, 'id: web\nkind: Deployment\n');

    // Act
    const named = autoscaler('validate', 'examples/eks/rbac.yaml');
    const mixed = autoscaler('validate', '--json', folder);

    // Assess
    expect(named.stdout.trim()).toBe('examples/eks/rbac.yaml: a Kubernetes manifest (kind: Role, RoleBinding), not a policy');
    expect(named.status).toBe(1);
    const report = JSON.parse(mixed.stdout) as { skipped: unknown[]; errors: Array<{ path: string; message: string }> };
    expect(report.skipped).toEqual([]);
    expect(report.errors.map((e) => e.path)).toContain('kind');
    expect(mixed.status).toBe(1);
  });

  it('reports a dangling rule.metric beside other errors, names the bad pair of a steps string, and warns of a step above capacity.max', () => {
    // Prepare
    const broken = join(dir, 'several.yaml');
    writeFileSync(broken, [
      'id: web',
      'target: { type: dockr, endpoint: edge-1, service: web }',
      'capacity: { min: 1, max: 3 }',
      'metrics: [{ id: conns, source: haproxy, endpoint: lb-1, backend: web, field: scur }]',
      'rule: { type: steps, metric: nope, steps: "0=1 100=x2 200=5" }',
      '',
    ].join('\n'));
    const capped = join(dir, 'capped.yaml');
    writeFileSync(capped, [
      'id: capped',
      'target: { type: docker, endpoint: edge-1, service: web }',
      'capacity: { min: 1, max: 3 }',
      'metrics: [{ id: conns, source: haproxy, endpoint: lb-1, backend: web, field: scur }]',
      'rule: { type: steps, metric: conns, steps: "0=1 100=2 200=5" }',
      '',
    ].join('\n'));

    // Act
    const several = autoscaler('validate', broken);
    const warned = autoscaler('validate', capped);

    // Assess
    expect(several.stdout.trim().split('\n')).toEqual([
      `${broken}: target.type: "dockr" is not a known type (allowed: docker, kubernetes, memory)`,
      `${broken}: rule.steps: "100=x2" (pair 2 of "0=1 100=x2 200=5") is not threshold=replicas; e.g. "0=1 1000=2 2000=3"`,
      `${broken}: rule.metric: names metric "nope", which is not in metrics (have: conns)`,
    ]);
    expect(several.status).toBe(1);
    expect(warned.stdout.trim()).toBe('ok: 1 policy in 1 file');
    expect(warned.stderr.trim()).toBe(`warning: ${capped}: rule.steps[2][1]: step 200=5 asks for more replicas than capacity.max 3: it is capped at 3`);
    expect(warned.status).toBe(0);
  });
});
