/**
 * The simulator bench finds the traces relative to the repository (not one machine's absolute
 * path), honours AUTOSCALER_TRACES, and fails loudly — a message and a non-zero exit — when they
 * are missing (it used to print a note and exit 0).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { traceFiles, tracesDirectory } from '../../bench/simulator.bench.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const empty = mkdtempSync(join(tmpdir(), 'no-traces-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('simulator bench traces', () => {
  it('default to shared/traces beside the repository, as the README says; AUTOSCALER_TRACES overrides', () => {
    // Act
    const fallback = tracesDirectory({});
    const overridden = tracesDirectory({ AUTOSCALER_TRACES: '/data/traces' });
    // Assess
    expect(fallback).toBe(join(dirname(resolve(root)), 'shared', 'traces'));
    expect(overridden).toBe('/data/traces');
  });

  it('missing traces are an error naming every missing file and the override', () => {
    // Act
    const check = () => traceFiles(empty);
    // Assess
    expect(check).toThrow(`traces not found: ${join(empty, 'nasa_per_minute.csv.gz')}, ${join(empty, 'twitter_trace_per_minute.csv.gz')}`);
    expect(check).toThrow(/set AUTOSCALER_TRACES/);
  });

  it('`node bench/run.ts simulator` without its traces exits non-zero with the message (was: a note and exit 0)', () => {
    // Act
    const run = spawnSync(process.execPath, [join(root, 'bench/run.ts'), 'simulator'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, AUTOSCALER_TRACES: empty } });
    // Assess
    expect(run.stderr).toContain(`traces not found: ${join(empty, 'nasa_per_minute.csv.gz')}`);
    expect(run.status).toBe(1);
  });
});
