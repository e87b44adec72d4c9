import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/commands/policy.ts';
import { openLocalStore } from '../../shared/local/store.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { executePlan, planApply } from '../../shared/state/apply.ts';

let dir: string;
let out: string[];
let err: string[];

const web = (max: number) => `id: web
target: { type: docker, endpoint: edge-1, service: web }
capacity: { min: 1, max: ${max} }
metrics: [{ id: jobs, source: redis, endpoint: cache-1, list: "queue:web" }]
rule: { type: steps, metric: jobs, steps: "0=1 10=2 20=3" }
alarms: [web-high]
`;
const worker = `id: worker
target: { type: docker, endpoint: edge-1, service: worker }
capacity: { min: 1, max: 5 }
metrics: [{ id: jobs, source: redis, endpoint: cache-1, list: "queue:worker" }]
rule: { type: target, metric: jobs, perReplica: 10 }
`;

async function cli(...args: string[]): Promise<number> {
  out.length = 0;
  err.length = 0;
  return run([...args, '--local', join(dir, 'store')]);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-cli-'));
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('autoscaler policy (local store on dynalite)', () => {
  it('applies a multi-document file, prints what changes, and a dry run writes nothing', async () => {
    // Prepare
    const file = join(dir, 'policies.yaml');
    await writeFile(file, `${web(10)}---\n${worker}`);
    // Act
    const first = await cli('apply', '-f', file);
    const firstOut = out.join('\n');
    await writeFile(file, `${web(12)}---\n${worker}`);
    const dry = await cli('apply', '-f', file, '--dry-run');
    const dryOut = out.join('\n');
    await cli('list', '--json');
    const afterDry = JSON.parse(out.join('\n')) as Array<{ id: string; version: number }>;
    const second = await cli('apply', '-f', file);
    await cli('list', '--json');
    const afterApply = JSON.parse(out.join('\n')) as Array<{ id: string; version: number; policy: { capacity: { max: number } } }>;
    await cli('get', 'web', '--version', '1');
    const firstVersion = out.join('');
    // Assess
    expect([first, dry, second]).toEqual([0, 0, 0]);
    expect(firstOut).toContain('+ web (added)');
    expect(firstOut).toContain('2 added, 0 changed, 0 unchanged');
    expect(dryOut).toMatch(/~ web \(changed, version 1 → 2\)\n\s+ capacity:\n.*\n\s+-   max: 10\n\s+\+   max: 12/);
    expect(dryOut).toContain('worker (unchanged, version 1)');
    expect(afterDry.map((p) => [p.id, p.version])).toEqual([['web', 1], ['worker', 1]]);
    expect(afterApply.map((p) => [p.id, p.version, p.policy.capacity.max])).toEqual([['web', 2, 12], ['worker', 1, 5]]);
    expect(firstVersion).toMatch(/^# autoscaler: policy web, version 1, updated [^]*max: 10/);
  });

  it('rejects invalid policies with file: path: message and writes nothing, not even the valid ones', async () => {
    // Prepare
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    await writeFile(good, worker);
    await writeFile(bad, web(10));
    await cli('apply', '-f', bad);
    await writeFile(bad, web(10).replace('max: 10', 'max: 0'));
    // Act
    const code = await cli('apply', '-f', good, '-f', bad);
    const errors = [...err];
    await cli('list', '--json');
    // Assess
    expect(code).toBe(1);
    expect(errors[0]).toBe(`${bad}: capacity.max: must be >= 1, got 0`);
    expect(errors.at(-1)).toMatch(/^nothing written/);
    expect((JSON.parse(out.join('\n')) as Array<{ id: string; version: number; policy: { capacity: { max: number } } }>).map((p) => [p.id, p.version, p.policy.capacity.max])).toEqual([['web', 1, 10]]);
  });

  it('rejects a stale write: a policy changed by someone else since the plan was read', async () => {
    // Prepare: both plan against version 1.
    const file = join(dir, 'web.yaml');
    await writeFile(file, web(10));
    await cli('apply', '-f', file);
    const store = await openLocalStore(join(dir, 'store'));
    try {
      const mine = await planApply(store.stores.policies, [Policy.parse((await import('yaml')).parse(web(11)))]);
      const theirs = await planApply(store.stores.policies, [Policy.parse((await import('yaml')).parse(web(12)))]);
      // Act
      const theirOutcome = await executePlan(store.stores.policies, theirs);
      const myOutcome = await executePlan(store.stores.policies, mine);
      // Assess
      expect(theirOutcome.written).toEqual([{ id: 'web', version: 2 }]);
      expect(myOutcome.written).toEqual([]);
      expect(myOutcome.stale[0]!.message).toMatch(/changed or deleted by someone else since version 1/);
      expect((await store.stores.policies.get('web'))?.policy.capacity.max).toBe(12);
    } finally {
      await store.close();
    }
  });

  it('rejects a stale write across get → edit → apply: the file names the version it was read at', async () => {
    // Prepare: I read version 1 with `get`; someone else applies version 2; I edit my copy.
    const file = join(dir, 'web.yaml');
    await writeFile(file, web(10));
    await cli('apply', '-f', file);
    await cli('get', 'web');
    const mine = join(dir, 'mine.yaml');
    await writeFile(mine, out.join('').replace('max: 10', 'max: 11'));
    await writeFile(file, web(15));
    await cli('apply', '-f', file);
    // Act
    const dry = await cli('apply', '-f', mine, '--dry-run');
    const dryErr = err.join('\n');
    const code = await cli('apply', '-f', mine);
    const applyOut = out.join('\n');
    const applyErr = err.join('\n');
    await cli('list', '--json');
    const stored = JSON.parse(out.join('\n')) as Array<{ id: string; version: number; policy: { capacity: { max: number } } }>;
    // Assess
    expect([dry, code]).toEqual([1, 1]);
    expect(dryErr).toContain('policy "web" was read at version 1 but it is at version 2 now');
    expect(applyOut).toContain('! web (stale: read at version 1)');
    expect(applyErr).toContain('someone else changed it; nothing written for it');
    expect(stored.map((p) => [p.id, p.version, p.policy.capacity.max])).toEqual([['web', 2, 15]]);
  });

  it('a policy deleted and created again continues its version numbers (versions name one text each)', async () => {
    // Prepare
    const file = join(dir, 'web.yaml');
    await writeFile(file, web(10));
    await cli('apply', '-f', file);
    await writeFile(file, web(4));
    await cli('apply', '-f', file);
    await cli('delete', 'web');
    // Act
    await writeFile(file, web(7));
    const recreate = await cli('apply', '-f', file);
    await cli('get', 'web');
    const current = out.join('');
    await cli('get', 'web', '--version', '2');
    const second = out.join('');
    // Assess
    expect(recreate).toBe(0);
    expect(current).toMatch(/^# autoscaler: policy web, version 3,[^]*max: 7/);
    expect(second).toMatch(/max: 4/);
  });

  it('exports multi-document YAML that applies back unchanged; get and delete', async () => {
    // Prepare
    const file = join(dir, 'policies.yaml');
    await writeFile(file, `${web(10)}---\n${worker}`);
    await cli('apply', '-f', file);
    const exported = join(dir, 'export.yaml');
    // Act
    const exportCode = await cli('export', '--out', exported);
    const reapply = await cli('apply', '-f', exported);
    const reapplyOut = out.join('\n');
    const getCode = await cli('get', 'worker');
    const got = out.join('');
    const deleteCode = await cli('delete', 'worker');
    const missing = await cli('get', 'worker');
    const missingErr = err.join('\n');
    // Assess
    expect([exportCode, reapply, getCode, deleteCode, missing]).toEqual([0, 0, 0, 0, 1]);
    expect((await readFile(exported, 'utf8')).split(/^---$/m)).toHaveLength(2);
    expect(reapplyOut).toContain('0 added, 0 changed, 2 unchanged');
    expect(got).toContain('perReplica: 10');
    expect(missingErr).toContain('no policy "worker"');
  });

  it('reading a local store that does not exist says so instead of answering from a new, empty one', async () => {
    // Act
    const code = await cli('list');
    // Assess
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`no local store in ${join(dir, 'store')}`);
  });

  it('explains usage errors and has --help', async () => {
    // Act
    const help = await run(['--help']);
    const noFile = await cli('apply');
    const noFileErr = err.join('\n');
    const unknown = await cli('frobnicate');
    // Assess
    expect(help).toBe(0);
    expect(noFile).toBe(2);
    expect(noFileErr).toContain('name the policies with -f FILE|DIR');
    expect(unknown).toBe(2);
    expect(err.join('\n')).toContain('unknown subcommand "frobnicate" (allowed: apply, list, get, delete, export)');
  });
});
