#!/usr/bin/env node
// Entry point for `npx autoscaler`. The CLI is TypeScript run by Node's type stripping (Node >= 24).
// When an older Node is first on PATH, re-run under the project's own Node 24 from scripts/setup.sh.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(main);
} else {
  const projectNode = fileURLToPath(new URL('../.tools/node/bin/node', import.meta.url));
  if (!existsSync(projectNode)) {
    console.error(`autoscaler needs Node 24 or newer (this is ${process.versions.node}). Run: bash scripts/setup.sh`);
    process.exit(1);
  }
  const { status } = spawnSync(projectNode, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(status ?? 1);
}
