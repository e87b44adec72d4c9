/**
 * `npm run bench [name…]`: runs every bench/*.bench.ts (or those whose names contain an argument).
 * Each exports `default async function(): Promise<void>` that prints its own table(s), with the
 * comparison side by side from one run. Quote ratios, not absolute times: machines are noisy.
 */
import { readdirSync } from 'node:fs';

// Options (`--json`) are for the benches themselves; the other arguments pick benches by name.
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const json = process.argv.includes('--json');
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((name) => f.includes(name)))
  .sort();

if (files.length === 0) {
  console.error(`bench: no bench matches ${filters.join(', ')}`);
  process.exitCode = 1;
}
for (const file of files) {
  // With --json only the benches' JSON lines are printed.
  if (!json) console.log(`\n## ${file.replace('.bench.ts', '')}\n`);
  const bench = (await import(`./${file}`)) as { default: () => Promise<void> };
  try {
    await bench.default();
  } catch (error) {
    // Loud and non-zero: a bench that could not run must not read as done.
    console.error(`bench ${file}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
