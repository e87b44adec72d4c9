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
    // Act: examples/reactive.yaml aims at 900 per replica; C = 25 is 36x smaller.
    const unscaled = autoscaler('simulate', '--policy', 'examples/reactive.yaml', '--trace', trace, '--per-replica', '25', '--json');
    const rescaled = autoscaler('simulate', '--policy', 'examples/reactive.yaml', '--trace', trace, '--per-replica', '25', '--written-for', '1000', '--json');
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

// An envelope policy and a noisy trace with a burst, for --sweep.
const envelopeFile = (z: number) => {
  const file = join(dir, `envelope-${z}.yaml`);
  writeFileSync(file, [
    `id: envelope-${z}`,
    'target: { type: kubernetes, cluster: c, namespace: web, kind: Deployment, name: web }',
    'capacity: { min: 1, max: 50 }',
    'metrics: [{ id: requests, source: cloudwatch, namespace: App, name: Requests }]',
    `rule: { type: envelope, metric: requests, perReplica: 10, z: ${z} }`,
    'behavior: { tolerance: 0, scaleUp: { stabilizationWindowSeconds: 0 }, scaleDown: { stabilizationWindowSeconds: 0 } }',
    '',
  ].join('\n'));
  return file;
};
const noisyTrace = join(dir, 'noisy.csv');
writeFileSync(noisyTrace, `minute,requests\n${Array.from({ length: 240 }, (_, i) => `${i},${(i % 60 >= 50 ? 200 : 40) + ((i * 7919) % 23)}`).join('\n')}\n`);

describe('autoscaler simulate --sweep', () => {
  it('--json gives, per value, the figures a policy written with that value gives alone', () => {
    // Act
    const swept = autoscaler('simulate', '--policy', envelopeFile(2), '--trace', noisyTrace, '--sweep', 'z=1,3', '--json');
    const alone = [1, 3].map((z) => JSON.parse(autoscaler('simulate', '--policy', envelopeFile(z), '--trace', noisyTrace, '--json').stdout));
    // Assess
    expect(swept.stderr).toBe('');
    expect(swept.status).toBe(0);
    const { param, points, baseline } = JSON.parse(swept.stdout);
    expect(param).toBe('z');
    expect(points).toEqual(alone.map(({ baseline: _, ...figures }, i) => ({ value: [1, 3][i], ...figures })));
    expect(baseline).toEqual(alone[0].baseline);
    expect(points[1].replicaMinutes).toBeGreaterThan(points[0].replicaMinutes);
  });

  it('prints the trade-off table with the HPA baseline and, with --plot, draws one point per value and the baseline', () => {
    // Act
    const svgPath = join(dir, 'sweep.svg');
    const { status, stdout } = autoscaler('simulate', '--policy', envelopeFile(2), '--trace', noisyTrace, '--sweep', 'z=1,2,3', '--plot', svgPath);
    // Assess
    expect(status).toBe(0);
    expect(stdout).toMatch(/^1 .*\n2 .*\n3 .*\nHPA baseline /m);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain('HPA baseline');
    expect(svg).toContain('z=3');
  });

  it('names a value that is not a number, a value out of the field’s range and a field no rule has', () => {
    // Act
    const notNumber = autoscaler('simulate', '--policy', envelopeFile(2), '--trace', noisyTrace, '--sweep', 'z=1,abc');
    const outOfRange = autoscaler('simulate', '--policy', envelopeFile(2), '--trace', noisyTrace, '--sweep', 'z=1,20');
    const unknown = autoscaler('simulate', '--policy', envelopeFile(2), '--trace', noisyTrace, '--sweep', 'zz=1');
    // Assess
    expect(notNumber.status).toBe(2);
    expect(notNumber.stderr).toContain('--sweep z: "abc" is not a number');
    expect(outOfRange.status).toBe(2);
    expect(outOfRange.stderr).toMatch(/--sweep z=20: rule\.z: .*10/);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no rule of policy "envelope-2" has a field "zz"');
  });
});
