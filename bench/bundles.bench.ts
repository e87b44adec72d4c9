/**
 * Each handler's bundle (esbuild with the CDK's options, infra/bundling.ts): size; import time in a
 * fresh Node process (a Lambda cold start's module-loading part); and import + first invocation in a
 * fresh process (what a cold start really costs, including whatever a lazy import() defers to the
 * first event), against a baseline handler that imports only @aws-sdk/client-dynamodb and makes one
 * DynamoDB call. Goal: alarm handler import ≤ 1.5× the baseline's.
 *
 * The first invocation: the evaluate handler gets a schedule tick, the alarm handler an SNS alarm
 * notification; each evaluates policies whose only metric source is CloudWatch (local fake JSON
 * endpoint) and whose target is a Kubernetes Deployment (local fake API server; the Kubernetes
 * client is loaded from node_modules then, as in Lambda), with state in dynalite: fresh tables for
 * every process, so every run scales 2 → 5 (evaluate) or 3 → 5 (alarm) and is checked to have.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { esbuildOptionsFor, handlerEntries } from '../infra/bundling.ts';
import { documentClient, localClient, storesFor } from '../shared/state/client.ts';
import { createTables } from '../shared/state/create.ts';
import type { TableNames } from '../shared/state/tables.ts';
import { alarmPolicy, queuePolicy, scheduledEvent, snsAlarmEvent, startScenario, type Scenario } from '../test/functions/scenario.ts';
import { printTable } from './table.ts';

const runs = 7;
const run = promisify(execFile);

interface Timing {
  readonly importMs: number;
  readonly firstMs: number;
}

/** One fresh process: import the bundle, optionally invoke it once; prints the times and the result. */
async function measureOnce(file: string, event: unknown, env: NodeJS.ProcessEnv): Promise<Timing & { result: unknown }> {
  const script = [
    'const t0 = performance.now();',
    `const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const t1 = performance.now();',
    'const event = JSON.parse(process.env.BENCH_EVENT ?? "null");',
    "const result = event === null ? null : await handler(event, { awsRequestId: 'bench-' + process.pid, functionName: 'bench', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench', memoryLimitInMB: '512', logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 60000 });",
    'const t2 = performance.now();',
    'console.log(JSON.stringify({ importMs: t1 - t0, firstMs: t2 - t0, result }));',
    // Keep-alive sockets would hold the process open.
    'process.exit(0);',
  ].join('\n');
  // Asynchronous: dynalite and the fakes run in this process and must keep answering.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...env, BENCH_EVENT: JSON.stringify(event) }, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Timing & { result: unknown };
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export default async function (): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const dir = join(root, 'node_modules/.cache/autoscaler-bench');
  mkdirSync(dir, { recursive: true });
  const baselineEntry = join(dir, 'baseline.ts');
  writeFileSync(
    baselineEntry,
    "import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';\nconst client = new DynamoDBClient({});\nexport const handler = async () => (await client.send(new ListTablesCommand({ Limit: 1 }))).TableNames?.length ?? 0;\n",
  );
  // The worker handler (one fan-out shard per SQS message) is measured through the evaluate handler, which runs the shards in process below the fan-out threshold.
  const measuredHandlers = Object.entries(handlerEntries).filter(([n]) => n !== 'worker');
  const entries: Record<string, string> = { baseline: baselineEntry, ...Object.fromEntries(measuredHandlers.map(([n, e]) => [n, join(root, e)])) };
  const scenario: Scenario = await startScenario();
  const dynamo = localClient(scenario.dynalite.endpoint);
  let tableRun = 0;
  /** Fresh tables with the two policies, and the starting replicas: every run does the same work. */
  async function freshEnvironment(): Promise<NodeJS.ProcessEnv> {
    tableRun++;
    const names: TableNames = { policies: `bench-policies-${tableRun}`, state: `bench-state-${tableRun}`, audit: `bench-audit-${tableRun}` };
    await createTables(dynamo, names);
    const stores = storesFor(documentClient(dynamo), names);
    for (const policy of [queuePolicy, alarmPolicy]) await stores.policies.put(policy, 0);
    scenario.kubernetes.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
    scenario.kubernetes.objects.set('web/deployments/api', { replicas: 3, resourceVersion: 1 });
    scenario.cloudWatch.values.set('QueueDepth', 500);
    scenario.cloudWatch.values.set('Connections', 750);
    return { ...process.env, POLICIES_TABLE: names.policies, STATE_TABLE: names.state, AUDIT_TABLE: names.audit };
  }
  const events: Record<string, (run: number) => unknown> = {
    baseline: () => ({}),
    evaluate: (run) => scheduledEvent(`bench-tick-${run}`),
    alarm: (run) => snsAlarmEvent(`bench-msg-${run}`, 'ALARM'),
  };
  const expected: Record<string, (result: any) => boolean> = {
    baseline: (result) => typeof result === 'number',
    evaluate: (result) => result?.actions === 1 && result?.failures === 0,
    alarm: (result) => result?.[0]?.actions === 1 && result?.[0]?.failures === 0,
  };
  const measured: Record<string, { bytes: number; importMs: number; firstMs: number }> = {};
  try {
    for (const [name, entry] of Object.entries(entries)) {
      const outfile = join(dir, name, 'index.mjs');
      await build(esbuildOptionsFor(entry, outfile));
      const imports: number[] = [];
      const firsts: number[] = [];
      for (let i = 0; i < runs; i++) {
        imports.push((await measureOnce(outfile, null, process.env)).importMs);
        const timing = await measureOnce(outfile, events[name]!(i), await freshEnvironment());
        if (!expected[name]!(timing.result)) throw new Error(`${name}: unexpected first-invocation result ${JSON.stringify(timing.result)}`);
        firsts.push(timing.firstMs);
      }
      measured[name] = { bytes: statSync(outfile).size, importMs: median(imports), firstMs: median(firsts) };
    }
  } finally {
    dynamo.destroy();
    await scenario.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = measured.baseline!;
  const ms = (v: number) => Math.round(v * 10) / 10;
  printTable(
    Object.entries(measured).map(([name, m]) => ({
      bundle: name === 'baseline' ? 'baseline (client-dynamodb only)' : `${name} handler`,
      'size KiB': Math.round(m.bytes / 1024),
      'size vs baseline': `${(m.bytes / base.bytes).toFixed(2)}×`,
      [`import ms (median of ${runs})`]: ms(m.importMs),
      'import vs baseline': `${(m.importMs / base.importMs).toFixed(2)}×`,
      [`import + 1st invocation ms (median of ${runs})`]: ms(m.firstMs),
      'import + 1st vs baseline': `${(m.firstMs / base.firstMs).toFixed(2)}×`,
    })),
  );
  console.log('\nFirst invocation: baseline = one ListTables call; evaluate = schedule tick, alarm = SNS ALARM, each on CloudWatch-only policies (Kubernetes target: loads the Kubernetes client).');
  const ratio = measured.alarm!.importMs / base.importMs;
  console.log(`Goal: alarm handler import ≤ 1.5× baseline → ${ratio.toFixed(2)}× (${ratio <= 1.5 ? 'met' : 'NOT met'}).`);
}
