/**
 * Each handler's bundle (esbuild with the CDK's options, infra/bundling.ts): size, and import time
 * in a fresh Node process (a Lambda cold start's module-loading part), against a baseline handler
 * that imports only @aws-sdk/client-dynamodb. Goal: alarm handler ≤ 1.5× the baseline's import time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { esbuildOptionsFor, handlerEntries } from '../infra/bundling.ts';
import { printTable } from './table.ts';

const runs = 7;

function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } });
    if (out.status !== 0) throw new Error(`importing ${file} failed: ${out.stderr}`);
    times.push(Number(out.stdout.trim()));
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

export default async function (): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const dir = join(root, 'node_modules/.cache/autoscaler-bench');
  mkdirSync(dir, { recursive: true });
  const baselineEntry = join(dir, 'baseline.ts');
  writeFileSync(baselineEntry, "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nconst client = new DynamoDBClient({});\nexport const handler = async () => client.config.region();\n");
  const entries: Record<string, string> = { baseline: baselineEntry, ...Object.fromEntries(Object.entries(handlerEntries).map(([n, e]) => [n, join(root, e)])) };
  const measured: Record<string, { bytes: number; ms: number }> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const outfile = join(dir, name, 'index.mjs');
    await build(esbuildOptionsFor(entry, outfile));
    measured[name] = { bytes: statSync(outfile).size, ms: importMs(outfile) };
  }
  const base = measured.baseline!;
  printTable(
    Object.entries(measured).map(([name, m]) => ({
      bundle: name === 'baseline' ? 'baseline (client-dynamodb only)' : `${name} handler`,
      'size KiB': Math.round(m.bytes / 1024),
      'size vs baseline': `${(m.bytes / base.bytes).toFixed(2)}×`,
      [`import ms (median of ${runs})`]: Math.round(m.ms * 10) / 10,
      'import vs baseline': `${(m.ms / base.ms).toFixed(2)}×`,
    })),
  );
  console.log(`\nGoal: alarm handler import ≤ 1.5× baseline → ${(measured.alarm!.ms / base.ms).toFixed(2)}× (${measured.alarm!.ms / base.ms <= 1.5 ? 'met' : 'NOT met'}).`);
  rmSync(dir, { recursive: true, force: true });
}
