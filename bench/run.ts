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

for (const file of files) {
  // With --json only the benches' JSON lines are printed.
  if (!json) console.log(`\n## ${file.replace('.bench.ts', '')}\n`);
  const bench = (await import(`./${file}`)) as { default: () => Promise<void> };
  await bench.default();
}
