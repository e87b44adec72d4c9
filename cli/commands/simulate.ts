/** `autoscaler simulate`: replays a per-minute demand trace through the production decide code. */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { formatPolicyError, loadPolicyFiles } from '../../shared/policy/load.ts';
import { rulesOf, type Policy } from '../../shared/policy/schema.ts';
import { hpaBaseline } from '../../shared/simulate/baseline.ts';
import { renderPlotSvg } from '../../shared/simulate/plot.ts';
import { rescalePolicy } from '../../shared/simulate/rescale.ts';
import { defaultCeiling, simulate, type SimulationResult, type SimulationSummary } from '../../shared/simulate/simulate.ts';
import { readTrace } from '../../shared/simulate/trace.ts';
import { parseSweep, withParameter, type Sweep } from '../../shared/simulate/sweep.ts';
import { renderTradeoffSvg } from '../../shared/simulate/tradeoff-plot.ts';

export const summary = 'Replay a per-minute request trace through a policy (and an HPA baseline) with the production decide code';

const help = `Usage: autoscaler simulate --policy P --trace T.csv[.gz] [--per-replica C] [--written-for C0]
                           [--startup M] [--baseline hpa|none] [--ceiling N] [--from M] [--to M]
                           [--sweep PARAM=a,b,c] [--plot FILE.svg] [--json]

Replays a trace through the same decide() the functions run, under one fixed model:
  - a decision every minute; at minute t every metric of the policy reads the demand of
    minute t-1 (the first minute of a trace has no earlier minute: its metrics are missing);
  - replicas added at minute t serve from minute t+M; removal is immediate and takes
    replicas that are not serving yet first;
  - minute t is under-provisioned when demand(t) > C x serving replicas(t);
  - the run starts at the policy's capacity.min replicas, all serving.

Options:
  --policy P        policy file (YAML/JSON); must hold exactly one policy
  --trace T         "minute,requests" CSV, gzip accepted, header optional
                    (minutes missing between two rows count as 0 requests)
  --per-replica C   requests per minute one serving replica handles. Default: the perReplica
                    of the policy's target or envelope rule; required when the policy has none
  --written-for C0  the per-replica load the policy's thresholds were written for; they are
                    rescaled by C/C0 (steps thresholds, perReplica, stepAdjust bounds), so a
                    template such as examples/recommended.yaml (C0 = 1000) replays on any trace
  --startup M       minutes from a replica's creation to its first serving minute (default 1)
  --baseline B      hpa (default): also run a stock HPA, a target rule at 70% of C with
                    every HPA default behavior, min 1, max 1000; none: the policy only
  --ceiling N       deployment-wide replica ceiling given to decide (default ${defaultCeiling})
  --from M, --to M  replay only trace minutes M with from <= M < to
  --sweep P=a,b,c   replay once per value of one parameter and print the trade-off table:
                    P is a rule field (z, peakUtilization, …: the first rule that has it) or
                    a dotted path in the policy (behavior.scaleDown.tolerance); at most 20
                    values, each validated as the policy is
  --plot FILE.svg   draw demand, serving capacity and replicas over time; with --sweep,
                    under-provisioned minutes against replica-minutes, one point per value,
                    with the HPA baseline marked
  --json            print the figures as JSON instead of a table
  --help            show this help

Figures:
  minutes                  minutes replayed
  underProvisionedMinutes  minutes with demand > C x serving replicas
  replicaMinutes           sum over minutes of the replicas that exist after that minute's
                           decision, serving or still starting (what you pay for)
  actions                  minutes whose decision changed the desired replicas
  peakReplicas             most replicas at once (serving or starting)

With --sweep, --json prints {"param": P, "points": [{"value": a, <figures>}, …], "baseline": {…}}.
Otherwise --json prints the policy's figures at the top level, and the baseline's under "baseline"
(absent with --baseline none):
  {"minutes": 84332, "underProvisionedMinutes": 12, "replicaMinutes": 901234, "actions": 345,
   "peakReplicas": 17, "baseline": {"minutes": 84332, "underProvisionedMinutes": ..., ...}}`;

const options = {
  policy: { type: 'string' },
  trace: { type: 'string' },
  'per-replica': { type: 'string' },
  'written-for': { type: 'string' },
  startup: { type: 'string' },
  baseline: { type: 'string' },
  ceiling: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  plot: { type: 'string' },
  sweep: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

export async function run(args: string[]): Promise<number> {
  try {
    return await simulateCommand(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`autoscaler simulate: ${error.message}\nRun "autoscaler simulate --help" for the options.`);
      return 2;
    }
    console.error(`autoscaler simulate: ${(error as Error).message}`);
    return 1;
  }
}

async function simulateCommand(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (!values.policy) throw new UsageError('--policy is required');
  if (!values.trace) throw new UsageError('--trace is required');
  const baselineName = values.baseline ?? 'hpa';
  if (baselineName !== 'hpa' && baselineName !== 'none') throw new UsageError(`--baseline must be hpa or none, got "${baselineName}"`);
  const startup = integerOption('--startup', values.startup, 1, 0);
  const ceiling = integerOption('--ceiling', values.ceiling, defaultCeiling, 1);

  const loaded = await loadSinglePolicy(values.policy);
  if (!loaded) return 1;
  const perReplica = perReplicaOf(loaded, values['per-replica']);
  const writtenFor = values['written-for'] === undefined ? undefined : positiveNumber('--written-for', values['written-for']);
  const policy = writtenFor === undefined ? loaded : rescalePolicy(loaded, perReplica / writtenFor);
  if (writtenFor === undefined) warnIfWrittenForAnotherSize(loaded, perReplica);
  const trace = await readTrace(values.trace);
  const lastMinute = trace.firstMinute + trace.demand.length;
  const fromMinute = integerOption('--from', values.from, trace.firstMinute, trace.firstMinute);
  const toMinute = integerOption('--to', values.to, lastMinute, fromMinute + 1);
  if (fromMinute >= lastMinute || toMinute > lastMinute) {
    throw new UsageError(`--from/--to must lie within the trace's minutes ${trace.firstMinute}..${lastMinute - 1}`);
  }
  const window = { from: fromMinute - trace.firstMinute, to: toMinute - trace.firstMinute };

  let sweep: Sweep | undefined;
  if (values.sweep !== undefined) {
    try {
      sweep = parseSweep(values.sweep);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const progress = progressReporter();
  if (sweep) {
    const variants = sweep.values.map((value) => {
      try {
        const swept = withParameter(loaded, sweep.param, value);
        return { value, policy: writtenFor === undefined ? swept : rescalePolicy(swept, perReplica / writtenFor) };
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    });
    const runOptions = { perReplica, startupMinutes: startup, ceiling, ...window };
    const points = variants.map(({ value, policy: variant }) => ({
      value,
      ...summaryOf(simulate(variant, trace.demand, { ...runOptions, onProgress: (done, total) => progress(`${sweep.param}=${value}`, done, total) })),
    }));
    const baseline = baselineName === 'hpa' ? summaryOf(simulate(hpaBaseline(perReplica), trace.demand, { ...runOptions, onProgress: (done, total) => progress('HPA baseline', done, total) })) : undefined;
    progress.end();
    if (values.plot) {
      const svg = renderTradeoffSvg({
        title: `${basename(values.trace)}: policy ${policy.id} swept over ${sweep.param}, C = ${perReplica} requests/min per replica, startup ${startup} min`,
        param: sweep.param,
        series: [{
          name: `${basename(values.trace)} (C = ${perReplica})`,
          points: points.map((p) => ({ label: `${sweep.param}=${p.value}`, replicaMinutes: p.replicaMinutes, underProvisionedMinutes: p.underProvisionedMinutes })),
          ...(baseline ? { baseline: { label: 'HPA baseline', replicaMinutes: baseline.replicaMinutes, underProvisionedMinutes: baseline.underProvisionedMinutes } } : {}),
        }],
      });
      await writeFile(values.plot, svg);
    }
    if (values.json) {
      console.log(JSON.stringify({ param: sweep.param, points, ...(baseline ? { baseline } : {}) }));
      return 0;
    }
    console.log([`${basename(values.trace)}: minutes ${fromMinute}..${toMinute - 1}, C = ${perReplica} requests/min per replica, startup ${startup} min, policy ${policy.id} swept over ${sweep.param}`, '', ...sweepTable(sweep.param, points, baseline)].join('\n'));
    if (values.plot) console.log(`\nplot written to ${values.plot}`);
    return 0;
  }
  const common = { perReplica, startupMinutes: startup, ceiling, ...window, keepSeries: values.plot !== undefined };
  const policyRun = simulate(policy, trace.demand, { ...common, onProgress: (done, total) => progress(`policy ${policy.id}`, done, total) });
  const baselineRun = baselineName === 'hpa' ? simulate(hpaBaseline(perReplica), trace.demand, { ...common, onProgress: (done, total) => progress('HPA baseline', done, total) }) : undefined;
  progress.end();

  if (values.plot) {
    const runs = [{ label: `policy ${policy.id}`, series: policyRun.series! }];
    if (baselineRun) runs.push({ label: 'HPA baseline', series: baselineRun.series! });
    const svg = renderPlotSvg({
      title: `${basename(values.trace)}: policy ${policy.id}, C = ${perReplica} requests/min per replica, startup ${startup} min`,
      firstMinute: fromMinute,
      demand: trace.demand.subarray(window.from, window.to),
      perReplica,
      runs,
    });
    await writeFile(values.plot, svg);
  }

  if (values.json) {
    const output: Record<string, unknown> = { ...summaryOf(policyRun) };
    if (baselineRun) output.baseline = summaryOf(baselineRun);
    console.log(JSON.stringify(output));
    return 0;
  }
  const header = [
    `${basename(values.trace)}: minutes ${fromMinute}..${toMinute - 1} (${(toMinute - fromMinute).toLocaleString('en-US')} minutes` +
      `${trace.missingMinutes > 0 ? `, ${trace.missingMinutes.toLocaleString('en-US')} missing in the file counted as 0 requests` : ''})`,
    `C = ${perReplica} requests/min per replica, startup ${startup} min, ceiling ${ceiling}`,
    '',
  ];
  console.log([...header, ...comparisonTable(`policy ${policy.id}`, policyRun, baselineRun)].join('\n'));
  if (values.plot) console.log(`\nplot written to ${values.plot}`);
  return 0;
}

function summaryOf(result: SimulationResult): SimulationSummary {
  const { minutes, underProvisionedMinutes, replicaMinutes, actions, peakReplicas } = result;
  return { minutes, underProvisionedMinutes, replicaMinutes, actions, peakReplicas };
}

function comparisonTable(policyLabel: string, policy: SimulationSummary, baseline: SimulationSummary | undefined): string[] {
  const rows: Array<[string, keyof SimulationSummary]> = [
    ['under-provisioned minutes', 'underProvisionedMinutes'],
    ['replica-minutes', 'replicaMinutes'],
    ['actions', 'actions'],
    ['peak replicas', 'peakReplicas'],
  ];
  const table: string[][] = [['', policyLabel, ...(baseline ? ['HPA baseline', 'policy / HPA'] : [])]];
  for (const [label, key] of rows) {
    const row = [label, policy[key].toLocaleString('en-US')];
    if (baseline) row.push(baseline[key].toLocaleString('en-US'), ratio(policy[key], baseline[key]));
    table.push(row);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const lines = table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('   '));
  lines.push('', `under-provisioned: demand > C x serving replicas. replica-minutes: replicas that exist each minute, serving or starting.`);
  return lines;
}

/** One row per swept value (and the baseline), with ratios against the baseline side by side. */
function sweepTable(param: string, points: Array<SimulationSummary & { value: number }>, baseline: SimulationSummary | undefined): string[] {
  const header = [param, 'under-provisioned min', 'replica-minutes', 'actions', 'peak replicas', ...(baseline ? ['under vs HPA', 'replica-min vs HPA', 'actions vs HPA'] : [])];
  const row = (label: string, r: SimulationSummary) => [
    label,
    r.underProvisionedMinutes.toLocaleString('en-US'),
    r.replicaMinutes.toLocaleString('en-US'),
    r.actions.toLocaleString('en-US'),
    r.peakReplicas.toLocaleString('en-US'),
    ...(baseline ? [ratio(r.underProvisionedMinutes, baseline.underProvisionedMinutes), ratio(r.replicaMinutes, baseline.replicaMinutes), ratio(r.actions, baseline.actions)] : []),
  ];
  const table = [header, ...points.map((p) => row(String(p.value), p)), ...(baseline ? [row('HPA baseline', baseline)] : [])];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const lines = table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('   '));
  lines.push('', 'Lower under-provisioned minutes cost replica-minutes: pick the row whose risk you accept.');
  return lines;
}

function ratio(a: number, b: number): string {
  if (b === 0) return a === 0 ? '1.00' : 'n/a';
  return (a / b).toFixed(2);
}

async function loadSinglePolicy(path: string): Promise<Policy | undefined> {
  const { policies, errors } = await loadPolicyFiles([path]);
  for (const error of errors) console.error(formatPolicyError(error));
  if (errors.length > 0) return undefined;
  if (policies.length !== 1) {
    console.error(`${path}: holds ${policies.length} policies; simulate takes exactly one`);
    return undefined;
  }
  return policies[0]!.policy;
}

function positiveNumber(name: string, given: string): number {
  const value = Number(given);
  if (!(given.trim() !== '' && Number.isFinite(value) && value > 0)) throw new UsageError(`${name} must be a number > 0, got "${given}"`);
  return value;
}

/**
 * A target rule aims at a load per replica near what one replica serves (the HPA baseline: 70%).
 * Far from C, the policy was most likely written for replicas of another size, and replaying it
 * unscaled answers a question nobody asked: say so (on stderr, so --json output stays clean).
 */
function warnIfWrittenForAnotherSize(policy: Policy, perReplica: number): void {
  const target = rulesOf(policy).find((rule) => rule.type === 'target' || rule.type === 'envelope');
  if (!target) return;
  const ratio = Math.max(target.perReplica / perReplica, perReplica / target.perReplica);
  if (ratio < 4) return;
  console.error(
    `autoscaler simulate: warning: the policy's ${target.type} rule aims at ${target.perReplica} per replica but --per-replica is ${perReplica} (${ratio.toFixed(0)}x apart): ` +
      `it looks written for replicas of another size; pass --written-for C0 (the load per replica it was written for) to rescale its thresholds`,
  );
}

function perReplicaOf(policy: Policy, given: string | undefined): number {
  if (given !== undefined) return positiveNumber('--per-replica', given);
  const target = rulesOf(policy).find((rule) => rule.type === 'target' || rule.type === 'envelope');
  if (!target) throw new UsageError(`--per-replica is required: policy "${policy.id}" has no target or envelope rule to take it from`);
  return target.perReplica;
}

function integerOption(name: string, given: string | undefined, fallback: number, min: number): number {
  if (given === undefined) return fallback;
  const value = Number(given);
  if (!(given.trim() !== '' && Number.isInteger(value) && value >= min)) throw new UsageError(`${name} must be a whole number >= ${min}, got "${given}"`);
  return value;
}

/** A progress line on stderr, only once a run has taken more than a second. */
function progressReporter(): ((label: string, done: number, total: number) => void) & { end(): void } {
  const started = performance.now();
  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  let printed = false;
  const report = (label: string, done: number, total: number) => {
    const now = performance.now();
    if (now - started < 1000 || now - lastPrinted < (tty ? 200 : 2000)) return;
    lastPrinted = now;
    printed = true;
    const line = `simulating ${label}: ${Math.floor((done / total) * 100)}% (${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} minutes)`;
    process.stderr.write(tty ? `\r${line.padEnd(79)}` : `${line}\n`);
  };
  return Object.assign(report, {
    end() {
      if (printed && tty) process.stderr.write(`\r${' '.repeat(79)}\r`);
    },
  });
}
