/**
 * `cdk synth` with a bad configuration: the error names the field and what to change, without a
 * stack trace, and points to the CDK context the user set (not only the construct's prop).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'synth-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function synth(context: unknown) {
  // CDK_CONTEXT_JSON is how the cdk CLI hands -c values and cdk.json's context to the app.
  return spawnSync(process.execPath, [join(root, 'infra/app.ts')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: join(dir, 'out') },
  });
}

describe('synth-time configuration errors', () => {
  it('are printed as the message alone, exit 1, and name the context key for a secret that is not granted', () => {
    // Prepare
    const endpointsFile = join(dir, 'endpoints.yaml');
    writeFileSync(endpointsFile, 'redis:\n  queue:\n    url: redis://cache.internal:6379\n    password: { secretId: redis-password }\n');

    // Act
    const result = synth({ autoscaler: { endpointsFile } });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('autoscaler: the configuration cannot be deployed:');
    expect(result.stderr).toContain('endpoints.redis.queue.password: secret "redis-password" is not among the granted secrets (none); add it to "secrets" (in the "autoscaler" CDK context');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
