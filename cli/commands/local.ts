/**
 * `autoscaler local`: the same engine as the Lambda functions, on a timer, with an embedded DynamoDB
 * (dynalite) kept under --data DIR. Other CLI commands reach the same store with `--local DIR`.
 * Each tick runs the fan-out's own dispatcher and worker code (shared/fanout/), with an in-process
 * queue in place of SQS: a small set of policies is one shard evaluated in-process, as in AWS.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Endpoints } from '../../shared/config/endpoints.ts';
import type { AuditRecord } from '../../shared/audit/record.ts';
import { defaultInProcessMaxTargets, dispatchTick } from '../../shared/fanout/dispatcher.ts';
import { InProcessQueue } from '../../shared/fanout/in-process-queue.ts';
import type { ShardMessage } from '../../shared/fanout/message.ts';
import { defaultShardSizing } from '../../shared/fanout/shards.ts';
import { runShard } from '../../shared/fanout/worker.ts';
import { endpointsFromEnvironment, endpointsFromFile } from '../../shared/local/endpoints.ts';
import { serveLocalStore } from '../../shared/local/store.ts';
import { defaultRegistry, releasePlugins, type Registry } from '../../shared/plugins/registry.ts';
import { formatPolicyError, loadPolicyFiles } from '../../shared/policy/load.ts';
import { executePlan, planApply } from '../../shared/state/apply.ts';
import { count } from '../../shared/plural.ts';
import { parseDuration } from './audit.ts';

export const summary = 'Run the engine locally on a timer, with an embedded DynamoDB under --data DIR';

const help = `Usage: autoscaler local --policies FILE|DIR [options]

Applies the policies to the local store, then evaluates every enabled policy each interval, exactly as
the schedule function does in AWS, printing one status line per tick. Ctrl-C stops after the current tick.

Options:
  --policies FILE|DIR   policy files (validated first; nothing runs if any is invalid); repeatable
  --interval DURATION   time between ticks: 10s (default), 1m, …
  --data DIR            where the embedded DynamoDB keeps its data (default .autoscaler); while this runs,
                        \`autoscaler policy … --local DIR\` and \`autoscaler audit --local DIR\` use it
  --endpoints FILE      YAML naming the Docker hosts, HAProxy runtime APIs and Redis servers; default:
                        from the environment: DOCKER_HOST → docker "local", HAPROXY_RUNTIME → haproxy "local",
                        REDIS_URL → redis "local" (variables not set are read from the .test-services.env
                        that scripts/test-services.sh writes, as \`autoscaler demo\` does)
  --ceiling N           deployment-wide replica ceiling (default 100)
  --once                run one tick and exit (exit 1 if any evaluation failed)
  --help                show this help`;

export interface LocalOptions {
  readonly policies: string[];
  readonly intervalMs: number;
  readonly dataDir: string;
  readonly endpoints: Endpoints;
  readonly ceiling: number;
  readonly once: boolean;
  readonly registry?: Registry;
  readonly signal?: AbortSignal;
  readonly print?: (line: string) => void;
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        policies: { type: 'string', multiple: true },
        interval: { type: 'string' },
        data: { type: 'string' },
        endpoints: { type: 'string' },
        ceiling: { type: 'string' },
        once: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`autoscaler local: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  let options: LocalOptions;
  try {
    if (!values.policies?.length) throw new Error('name the policies with --policies FILE|DIR');
    const intervalMs = parseDuration(values.interval ?? '10s');
    if (intervalMs < 1_000) throw new Error(`--interval: "${values.interval}" is too short (at least 1s)`);
    const ceiling = values.ceiling === undefined ? 100 : Number(values.ceiling);
    if (!Number.isInteger(ceiling) || ceiling < 1 || ceiling > 10_000) throw new Error(`--ceiling: "${values.ceiling}" is not a whole number from 1 to 10000`);
    if (!values.endpoints) {
      // As `demo` does: a fresh shell gets the test services' settings without exporting them.
      const { loadServicesEnvFile } = await import('../../shared/demo/services.ts');
      loadServicesEnvFile(new URL('../../.test-services.env', import.meta.url));
    }
    const endpoints = values.endpoints ? await endpointsFromFile(values.endpoints) : endpointsFromEnvironment();
    options = { policies: values.policies, intervalMs, dataDir: values.data ?? '.autoscaler', endpoints, ceiling, once: values.once === true };
  } catch (error) {
    console.error(`autoscaler local: ${(error as Error).message}`);
    return 2;
  }
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
    console.error('stopping after the current tick (Ctrl-C again to quit now)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await runLocal({ ...options, signal: stop.signal });
    exitEvenIfSomethingLeaked(code);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** How long the process may take to end by itself once the loop is over and the plug-ins are released. */
export const leakGraceMs = 3_000;

/**
 * Every plug-in is released when the loop ends, so the process ends by itself. Should a future
 * plug-in forget to, the user must not be left with a command that never returns: this ends the
 * process anyway after `leakGraceMs`, and says so (the tests look for this line). The timer is
 * unref'd: it never keeps the process alive itself.
 */
function exitEvenIfSomethingLeaked(code: number): void {
  setTimeout(() => {
    console.error(`autoscaler local: still running ${leakGraceMs} ms after stopping (a connection was left open); exiting`);
    process.exit(code);
  }, leakGraceMs).unref();
}

/** The loop itself; returns the exit code. Stops when `signal` aborts, after finishing the tick in progress. */
export async function runLocal(options: LocalOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { policies, errors, skipped, warnings } = await loadPolicyFiles(options.policies);
  for (const { file, reason } of skipped) console.error(`${file}: skipped: ${reason}`);
  for (const warning of warnings) console.error(`warning: ${formatPolicyError(warning)}`);
  if (errors.length > 0) {
    for (const error of errors) console.error(formatPolicyError(error));
    return 1;
  }
  const store = await serveLocalStore(options.dataDir);
  try {
    const plan = await planApply(store.stores.policies, policies.map((p) => p.policy));
    const outcome = await executePlan(store.stores.policies, plan);
    for (const stale of outcome.stale) console.error(`${stale.id}: ${stale.message}`);
    const changes = (c: string) => plan.filter((e) => e.change === c).length;
    print(`store ${options.dataDir} (${store.endpoint}); policies: ${changes('added')} added, ${changes('changed')} changed, ${changes('unchanged')} unchanged`);
    const owner = `${hostname()}:${process.pid}`;
    let failedAny = false;
    // One tick's records, from whichever shard (in-process or queued) wrote them.
    let collected: AuditRecord[] = [];
    const shardDependencies = {
      policies: store.stores.policies,
      stores: store.stores,
      options: { registry: options.registry ?? defaultRegistry, endpoints: options.endpoints, ceiling: options.ceiling, owner },
      now: Date.now,
    };
    const evaluateShard = async (message: ShardMessage) => {
      const outcome = await runShard(message, shardDependencies);
      if (outcome.outcome === 'evaluated') collected.push(...outcome.written);
      else print(`shard ${message.shard + 1}/${message.shards} of ${message.tickId} went stale (${outcome.ageMs} ms old); the next tick evaluates its targets`);
      return outcome;
    };
    const queue = new InProcessQueue(async (message) => void (await evaluateShard(message)), { concurrency: 4, retryDelayMs: 1_000, maxReceives: 3 });
    for (let tick = 1; !options.signal?.aborted; tick++) {
      const started = Date.now();
      const tickId = `local-${owner}-${started}`;
      try {
        collected = [];
        const deadBefore = queue.deadLetters.length;
        const dispatched = await dispatchTick(
          { id: tickId, at: started, intervalMs: options.intervalMs },
          { index: store.stores.policies, queue, sizing: defaultShardSizing, inProcessMaxTargets: defaultInProcessMaxTargets, runInProcess: evaluateShard },
        );
        await queue.drained();
        for (const lost of queue.deadLetters.slice(deadBefore)) {
          failedAny = true;
          print(`shard ${lost.message.shard + 1}/${lost.message.shards} failed 3 times: ${lost.error}`);
        }
        const records = collected;
        const by = (status: string) => records.filter((r) => r.status === status).length;
        failedAny ||= by('Failed') > 0;
        const acted = records.filter((r) => r.status === 'Successful').map((r) => `${r.policyId} ${r.currentReplicas}→${r.desiredReplicas}`);
        const failed = records.filter((r) => r.status === 'Failed').map((r) => `${r.policyId}: ${r.error}`);
        print(
          `${new Date(started).toISOString()} tick ${tick}: ${count(dispatched.policies, 'policy', 'policies')}; ${by('Successful')} scaled, ${by('NotScaled')} not scaled, ${by('DryRun')} dry run, ${by('Failed')} failed (${Date.now() - started} ms)` +
            (acted.length ? `; ${acted.join(', ')}` : '') +
            (failed.length ? `; ${failed.join('; ')}` : ''),
        );
      } catch (error) {
        failedAny = true;
        print(`${new Date(started).toISOString()} tick ${tick}: failed: ${(error as Error).message}`);
      }
      if (options.once) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, options.intervalMs - (Date.now() - started)));
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return options.once && failedAny ? 1 : 0;
  } finally {
    // Open Redis (and other) connections would keep the process alive after the last tick.
    const registry = options.registry ?? defaultRegistry;
    for (const error of await releasePlugins(registry)) console.error(`autoscaler local: closing connections: ${error}`);
    await store.close();
  }
}
