// Guards the promise of test/support/services.ts: without the test services every integration
// suite skips with a one-line reason locally, and fails in CI. Runs vitest itself (a child process)
// on those suites with every service setting removed.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const thisFile = relative(root, fileURLToPath(import.meta.url));
const helperCall = ['describeWith', 'Services('].join('');

/** Every test file that declares a suite needing services, and the settings those suites name. */
function integrationSuites(): { files: string[]; settings: Set<string> } {
  const files: string[] = [];
  const settings = new Set<string>();
  for (const entry of readdirSync(join(root, 'test'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.test.ts')) continue;
    const file = relative(root, join(entry.parentPath, entry.name));
    if (file === thisFile) continue;
    const text = readFileSync(join(root, file), 'utf8');
    if (!text.includes(helperCall)) continue;
    let needsAny = false;
    for (const [, keys] of text.matchAll(/describeWithServices\([^[]*\[([^\]]*)\]/g)) {
      for (const [, key] of keys!.matchAll(/'([A-Z0-9_]+)'/g)) {
        settings.add(key!);
        needsAny = true;
      }
    }
    if (needsAny) files.push(file);
  }
  return { files: files.sort(), settings };
}

interface JsonReport {
  testResults: Array<{ name: string; status: string; message?: string; assertionResults: Array<{ title: string; status: string }> }>;
}

const outDir = mkdtempSync(join(tmpdir(), 'no-services-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** Runs vitest on `files` without any service setting (and without .test-services.env); its JSON report. */
async function vitestWithoutServices(files: string[], settings: Set<string>, ci: boolean): Promise<JsonReport> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!settings.has(key) && key !== 'CI' && !key.startsWith('VITEST')) env[key] = value;
  env.AUTOSCALER_IGNORE_TEST_SERVICES_ENV = '1';
  if (ci) env.CI = 'true';
  const outputFile = join(outDir, `report-${ci ? 'ci' : 'local'}.json`);
  const args = [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${outputFile}`, ...files];
  // vitest exits 1 when a file fails: that is the CI case's expected outcome, so the exit code is not checked.
  await new Promise<void>((resolve) => execFile(process.execPath, args, { cwd: root, env, maxBuffer: 64 * 1024 * 1024 }, () => resolve()));
  return JSON.parse(readFileSync(outputFile, 'utf8')) as JsonReport;
}

const byFile = (report: JsonReport) => new Map(report.testResults.map((r) => [relative(root, r.name), r]));

it('defect 11: without test services every integration suite skips with a one-line reason locally, and fails in CI', async () => {
  // Prepare
  const { files, settings } = integrationSuites();
  expect(files.length).toBeGreaterThan(5);

  // Act
  const local = byFile(await vitestWithoutServices(files, settings, false));
  const ci = byFile(await vitestWithoutServices(files, settings, true));

  // Assess: locally no file fails, and each shows a skipped test naming the missing settings;
  // in CI each fails, naming the missing services.
  const failedLocally = files.filter((file) => local.get(file)?.status !== 'passed' && local.get(file)?.status !== 'skipped');
  expect(failedLocally.map((file) => `${file}: ${local.get(file)?.status} ${local.get(file)?.message ?? ''}`)).toEqual([]);
  const skippedWithReason = files.filter((file) =>
    local.get(file)!.assertionResults.some((a) => ['skipped', 'pending'].includes(a.status) && /^skipped: [A-Z0-9_, ]+ not set \(run scripts\/test-services\.sh\)$/.test(a.title)),
  );
  expect(skippedWithReason).toEqual(files);
  const failedInCi = files.filter((file) => ci.get(file)?.status === 'failed' && /required test services are missing/.test(JSON.stringify(ci.get(file))));
  expect(failedInCi).toEqual(files);
}, 300_000);
