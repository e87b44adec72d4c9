import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cli-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function autoscaler(...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin/autoscaler.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

const policy = join(dir, 'steps.yaml');
writeFileSync(policy, [
  'id: steps',
  'target: { type: kubernetes, cluster: c, namespace: web, kind: Deployment, name: web }',
  'capacity: { min: 1, max: 20 }',
  'metrics: [{ id: requests, source: cloudwatch, namespace: App, name: Requests }]',
  'rule: { type: steps, metric: requests, steps: "0=1 100=10" }',
  'behavior:',
  '  scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: Pods, value: 1000, periodSeconds: 60 }] }',
  '  scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: Pods, value: 1000, periodSeconds: 60 }] }',
  '',
].join('\n'));
// A step from 10 to 100 requests/min at minute 5 (the same trace as test/simulate/simulate.test.ts).
const csv = `minute,requests\n${[10, 10, 10, 10, 10, 100, 100, 100, 100, 100].map((r, i) => `${i},${r}`).join('\n')}\n`;
const trace = join(dir, 'step.csv.gz');
writeFileSync(trace, gzipSync(csv));

describe('autoscaler simulate', () => {
  it('--json on a tiny gzip trace: the policy at the top level, the HPA baseline under "baseline"', () => {
    // Act
    const { status, stdout, stderr } = autoscaler('simulate', '--policy', policy, '--trace', trace, '--per-replica', '10', '--json');

    // Assess: figures computed by hand in test/simulate/simulate.test.ts
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      minutes: 10,
      underProvisionedMinutes: 2,
      replicaMinutes: 46,
      actions: 1,
      peakReplicas: 10,
      baseline: { minutes: 10, underProvisionedMinutes: 3, replicaMinutes: 59, actions: 4, peakReplicas: 15 },
    });
  });

  it('--baseline none, --startup and --from/--to change the run as documented', () => {
    // Act
    const { status, stdout } = autoscaler('simulate', '--policy', policy, '--trace', trace, '--per-replica', '10', '--startup', '3', '--from', '2', '--to', '10', '--baseline', 'none', '--json');

    // Assess: short at minutes 5..8 (10 replicas asked at 6 serve from 9)
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ minutes: 8, underProvisionedMinutes: 4, replicaMinutes: 4 + 40, actions: 1, peakReplicas: 10 });
  });

  it('--written-for rescales a policy written for another per-replica load: the same run as the native policy', () => {
    // Prepare: the steps policy written for replicas serving 1,000 (thresholds ×100)
    const scaled = join(dir, 'steps-1000.yaml');
    writeFileSync(scaled, readFileSync(policy, 'utf8').replace('"0=1 100=10"', '"0=1 10000=10"').replace('id: steps', 'id: steps1000'));
    // Act
    const native = autoscaler('simulate', '--policy', policy, '--trace', trace, '--per-replica', '10', '--baseline', 'none', '--json');
    const rescaled = autoscaler('simulate', '--policy', scaled, '--trace', trace, '--per-replica', '10', '--written-for', '1000', '--baseline', 'none', '--json');
    const unscaled = autoscaler('simulate', '--policy', scaled, '--trace', trace, '--per-replica', '10', '--baseline', 'none', '--json');
    // Assess
    expect(rescaled.status).toBe(0);
    expect(JSON.parse(rescaled.stdout)).toEqual(JSON.parse(native.stdout));
    expect(JSON.parse(unscaled.stdout).peakReplicas).toBe(1);
  });

  it('warns on stderr (keeping --json clean) when a target rule aims far from --per-replica and --written-for is not given', () => {
    // Act: examples/recommended.yaml aims at 900 per replica; C = 25 is 36x smaller.
    const unscaled = autoscaler('simulate', '--policy', 'examples/recommended.yaml', '--trace', trace, '--per-replica', '25', '--json');
    const rescaled = autoscaler('simulate', '--policy', 'examples/recommended.yaml', '--trace', trace, '--per-replica', '25', '--written-for', '1000', '--json');
    // Assess
    expect(unscaled.status).toBe(0);
    expect(unscaled.stderr).toContain("the policy's target rule aims at 900 per replica but --per-replica is 25 (36x apart)");
    expect(unscaled.stderr).toContain('pass --written-for C0');
    expect(JSON.parse(unscaled.stdout)).toHaveProperty('underProvisionedMinutes');
    expect(rescaled.stderr).not.toContain('warning');
  });

  it('prints a side-by-side table and writes an SVG plot', () => {
    // Prepare
    const plot = join(dir, 'plot.svg');

    // Act
    const { status, stdout } = autoscaler('simulate', '--policy', policy, '--trace', trace, '--per-replica', '10', '--plot', plot);

    // Assess
    expect(status).toBe(0);
    expect(stdout).toMatch(/policy steps\s+HPA baseline\s+policy \/ HPA/);
    expect(stdout).toMatch(/under-provisioned minutes\s+2\s+3\s+0\.67/);
    expect(readFileSync(plot, 'utf8')).toContain('</svg>');
  });

  it('names a bad option value and a bad trace line', () => {
    // Prepare
    const badTrace = join(dir, 'bad.csv');
    writeFileSync(badTrace, '0,1\n1,x\n');

    // Act
    const badOption = autoscaler('simulate', '--policy', policy, '--trace', trace, '--per-replica', 'lots');
    const badLine = autoscaler('simulate', '--policy', policy, '--trace', badTrace, '--per-replica', '10');

    // Assess
    expect(badOption.stderr).toContain('--per-replica must be a number > 0, got "lots"');
    expect(badOption.status).toBe(2);
    expect(badLine.stderr).toContain('bad.csv: line 2: requests must be a number >= 0, got "x"');
    expect(badLine.status).toBe(1);
  });
});
