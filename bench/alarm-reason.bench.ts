/**
 * Parsing an alarm's NewStateReason (defect 10): the regular expressions used before, retried from
 * every position of a long digit run or "[" run (quadratic), against the linear scanner of
 * shared/aws/alarm-event.ts, on reasons of growing size. The old parser is not run at 256 KB (SNS's
 * maximum): by its growth it would take minutes.
 */
import { valueFromReason } from '../shared/aws/alarm-event.ts';
import { printTable } from './table.ts';

/** The parser as it was before the fix, kept here only as the comparison. */
function valueFromReasonBefore(reason: string): number | undefined {
  const list = /\[([^\]]*)\]/.exec(reason)?.[1];
  if (!list) return undefined;
  const first = /(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*\(/.exec(list)?.[1];
  return first === undefined ? undefined : Number(first);
}

const datapoint = ' 7.5 (23/11/26 14:00:00)]';
const shapes: Record<string, (bytes: number) => string> = {
  'digit run': (bytes) => `Threshold Crossed: [${'1'.repeat(bytes)}${datapoint}`,
  '"[" run, unclosed': (bytes) => `Threshold Crossed: ${'['.repeat(bytes)} 7.5 (23/11/26 14:00:00)`,
};
const expected: Record<string, number | undefined> = { 'digit run': 7.5, '"[" run, unclosed': undefined };

function fastestMs(parse: (reason: string) => number | undefined, reason: string, answer: number | undefined, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    if (parse(reason) !== answer) throw new Error('wrong answer');
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

export default async function alarmReasonBench(): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  for (const [shape, make] of Object.entries(shapes)) {
    for (const kb of [4, 8, 16, 32, 256]) {
      const reason = make(kb * 1024);
      const before = kb <= 32 ? fastestMs(valueFromReasonBefore, reason, expected[shape], 1) : undefined;
      const after = fastestMs(valueFromReason, reason, expected[shape], 20);
      rows.push({
        shape,
        'reason KB': kb,
        'before (ms)': before === undefined ? 'not run' : before,
        'after (ms)': after,
        'before / after': before === undefined ? '' : `${Math.round(before / after).toLocaleString('en-US')}×`,
      });
    }
  }
  printTable(rows);
}
