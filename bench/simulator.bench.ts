/**
 * The simulator on the two real traces: the HPA baseline, plain steps (examples/seed-steps.yaml),
 * a reactive policy (examples/reactive.yaml) and the recommended default, the envelope rule
 * (examples/recommended.yaml), side by side from one run, with the best points an
 * independent search found under the same model as reference. Ratios are against the HPA baseline on
 * the same trace (below 1 is better for under-provisioned minutes and replica-minutes).
 *
 * Example policies carry thresholds for C = 1,000 requests/min per replica (the Twitter trace);
 * for the NASA trace (C = 25) they are rescaled by C/1000 (rescalePolicy: steps thresholds,
 * target perReplica, stepAdjust bounds). The HPA baseline is defined from C and needs no rescaling.
 *
 * The traces are read from ../shared/traces beside the repository (as the README's simulate
 * commands), or from the folder AUTOSCALER_TRACES names. Missing traces or examples are an error:
 * a bench that prints a note and exits 0 reads as a pass.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicyFiles, formatPolicyError } from '../shared/policy/load.ts';
import type { Policy } from '../shared/policy/schema.ts';
import { hpaBaseline } from '../shared/simulate/baseline.ts';
import { rescalePolicy } from '../shared/simulate/rescale.ts';
import { simulate, type SimulationSummary } from '../shared/simulate/simulate.ts';
import { readTrace } from '../shared/simulate/trace.ts';
import { printTable } from './table.ts';

/** The folder holding the traces: AUTOSCALER_TRACES, else `shared/traces` beside the repository. */
export function tracesDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTOSCALER_TRACES || fileURLToPath(new URL('../../shared/traces/', import.meta.url)).replace(/\/$/, '');
}

/** The trace files the bench needs; throws one message naming every missing file and how to point elsewhere. */
export function traceFiles(dir: string): Array<{ name: string; file: string; perReplica: number }> {
  const traces = [
    { name: 'NASA', file: join(dir, 'nasa_per_minute.csv.gz'), perReplica: 25 },
    { name: 'Twitter', file: join(dir, 'twitter_trace_per_minute.csv.gz'), perReplica: 1000 },
  ];
  const missing = traces.filter((t) => !existsSync(t.file)).map((t) => t.file);
  if (missing.length > 0) {
    throw new Error(`simulator bench: trace${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}. Put them there, or set AUTOSCALER_TRACES to the folder that holds nasa_per_minute.csv.gz and twitter_trace_per_minute.csv.gz.`);
  }
  return traces;
}

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
/** Example policies are written for this many requests per minute per replica. */
const exampleUnitsPerReplica = 1000;
const startupMinutes = 1;

async function examplePolicy(file: string): Promise<Policy> {
  const path = `${examples}${file}`;
  const { policies, errors } = await loadPolicyFiles([path]);
  if (errors.length > 0) throw new Error(errors.map(formatPolicyError).join('\n'));
  return policies[0]!.policy;
}

export default async function simulatorBench(): Promise<void> {
  const traces = traceFiles(tracesDirectory());
  const plainSteps = await examplePolicy('seed-steps.yaml');
  const reactive = await examplePolicy('reactive.yaml');
  const recommended = await examplePolicy('recommended.yaml');

  const rows: Array<Record<string, string | number>> = [];
  for (const trace of traces) {
    const { demand } = await readTrace(trace.file);
    const factor = trace.perReplica / exampleUnitsPerReplica;
    const candidates: Array<[string, Policy]> = [
      ['HPA baseline (70% of C)', hpaBaseline(trace.perReplica)],
      ['plain steps (seed-steps.yaml)', rescalePolicy(plainSteps, factor)],
      ['reactive (reactive.yaml)', rescalePolicy(reactive, factor)],
      ['recommended default: envelope (recommended.yaml)', rescalePolicy(recommended, factor)],
    ];

    let hpa: SimulationSummary | undefined;
    for (const [label, policy] of candidates) {
      const started = performance.now();
      const result = simulate(policy, demand, { perReplica: trace.perReplica, startupMinutes });
      const wallMs = performance.now() - started;
      hpa ??= result;
      rows.push({
        trace: `${trace.name} (C=${trace.perReplica})`,
        policy: label,
        minutes: result.minutes,
        underProvisionedMinutes: result.underProvisionedMinutes,
        replicaMinutes: result.replicaMinutes,
        actions: result.actions,
        peakReplicas: result.peakReplicas,
        'under-prov. vs HPA': ratio(result.underProvisionedMinutes, hpa.underProvisionedMinutes),
        'replica-min. vs HPA': ratio(result.replicaMinutes, hpa.replicaMinutes),
        'actions vs HPA': ratio(result.actions, hpa.actions),
        'simulate wall ms': Math.round(wallMs),
      });
    }
    const frontier = frontierReference[trace.name];
    if (frontier && hpa) {
      rows.push({
        trace: `${trace.name} (C=${trace.perReplica})`,
        policy: 'reference: best found at <= 0.5% under (independent search)',
        minutes: '-',
        underProvisionedMinutes: frontier.under,
        replicaMinutes: frontier.replicaMinutes,
        actions: frontier.actions,
        peakReplicas: '-',
        'under-prov. vs HPA': ratio(frontier.under, hpa.underProvisionedMinutes),
        'replica-min. vs HPA': ratio(frontier.replicaMinutes, hpa.replicaMinutes),
        'actions vs HPA': ratio(frontier.actions, hpa.actions),
        'simulate wall ms': '-',
      });
    }
  }
  console.log(
    `Model: the README's "Simulating a policy before it goes live" (one decision a minute, a one-minute lag, startup ${startupMinutes} min); ` +
      'replica-minutes count serving and starting replicas.',
  );
  console.log(`Traces from ${tracesDirectory()}; C = requests/min one replica serves; example policies rescaled by C/${exampleUnitsPerReplica} per trace.\n`);
  printTable(rows);
}

/**
 * The frontier points reported by an independent implementation of the same model (not
 * recomputed here): what a past-only policy reached at <= 0.5% under-provisioned minutes.
 */
const frontierReference: Record<string, { under: number; replicaMinutes: number; actions: number }> = {
  NASA: { under: 420, replicaMinutes: 296_176, actions: 2_553 },
  Twitter: { under: 158, replicaMinutes: 198_678, actions: 10_675 },
};

function ratio(value: number, baseline: number): string {
  if (baseline === 0) return value === 0 ? '1.00' : 'n/a (HPA 0)';
  return (value / baseline).toFixed(2);
}
