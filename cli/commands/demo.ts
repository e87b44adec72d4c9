/** `autoscaler demo`: the local engine scaling a busybox service behind HAProxy under a ramping load. */
import { parseArgs } from 'node:util';
import { demoModel, scaleDownWindow } from '../../shared/demo/model.ts';
import { count } from '../../shared/plural.ts';

export const summary = 'Watch the engine scale a busybox service behind HAProxy out and in under a ramping load (local Docker + HAProxy)';

const m = demoModel;
const help = `Usage: autoscaler demo [--duration S] [--json]

Runs the real engine locally: a busybox httpd service on your Docker engine behind HAProxy, a load
that ramps 0 → ${m.peak} → 0 requests/s, and an evaluation every ${m.intervalSeconds} s (decide, clone or remove
containers, keep HAProxy in step through its runtime API, audit to an in-process DynamoDB) while a
one-line status shows the load, the replicas and HAProxy's backend sessions. At the end it prints
the audit records that acted, then removes every container and HAProxy server it created (also on Ctrl-C).

Options:
  --duration S   length of the run in seconds, 20-3600 (default 90). The load ramps up over the first
                 30%, holds to 45%, ramps down to 60% and is idle for the rest, so that scale-in shows.
  --json         end with one line of JSON on stdout (the status and the audit table go to stderr):
                 {"scaleOuts","scaleIns","peakReplicas","underProvisionedSeconds","failedRequests"}
  --help         show this help

The policy: target rule on HAProxy's backend "rate" (sessions/s), ${m.perReplica} per replica, capacity
${m.capacity.min}..${m.capacity.max}, tolerance ${m.tolerance}; scale up at once (up to 4 replicas per 10 s); scale down after a
stabilization window of a sixth of the run (5-15 s). Each request costs ${m.requestCostSeconds} s in the container
(a CGI that sleeps), which is what HAProxy's "scur" shows. One new connection per request.

Figures:
  scaleOuts, scaleIns      successful scale-out / scale-in actions in the audit
  peakReplicas             most replicas at once
  underProvisionedSeconds  seconds of the run in which the requests sent exceeded
                           ${m.perReplica} x ${1 + m.tolerance} x replicas (the per-replica target, plus the policy's
                           tolerance; replicas = the count the engine last read or left)
  failedRequests           requests that did not get HTTP 200 within ${m.requestTimeoutMs / 1000} s

Settings come from the environment, else from .test-services.env (written by the test services):
  DOCKER_HOST        unix:///path/docker.sock or tcp://127.0.0.1:PORT
  HAPROXY_RUNTIME    the runtime API: host:port or /path/admin.sock (level admin)
  HAPROXY_FRONTEND   127.0.0.1:PORT, a frontend whose default backend is HAPROXY_BACKEND (default web);
                     its balance algorithm must allow "add server" (roundrobin, leastconn, …)
  TEST_IMAGE         an image with busybox sh and httpd (default autoscaler-test/busybox:latest)
  TEST_NETWORK       Docker network the host routes to (default bridge)
Missing? Run \`bash scripts/test-services.sh\` (as root): it installs and starts all of them.`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { duration: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    console.error(`autoscaler demo: ${(error as Error).message}\nRun "autoscaler demo --help" for the options.`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  const duration = values.duration === undefined ? 90 : Number(values.duration);
  if (!Number.isInteger(duration) || duration < 20 || duration > 3600) {
    console.error(`autoscaler demo: --duration: "${values.duration}" must be a whole number of seconds from 20 to 3600`);
    return 2;
  }
  const json = values.json === true;

  // Loaded only now: --help and usage errors stay quick.
  const { checkServices, loadServicesEnvFile, settingsFromEnvironment } = await import('../../shared/demo/services.ts');
  loadServicesEnvFile(new URL('../../.test-services.env', import.meta.url));
  let settings;
  try {
    settings = settingsFromEnvironment();
  } catch (error) {
    console.error(`autoscaler demo: cannot run:\n${(error as Error).message}`);
    return 1;
  }
  const problems = await checkServices(settings);
  if (problems.length > 0) {
    console.error(`autoscaler demo: cannot run:\n${problems.join('\n')}`);
    return 1;
  }

  const { runDemo } = await import('../../shared/demo/run.ts');
  const { formatAuditRow } = await import('./audit.ts');

  // With --json stdout carries only the summary line; everything else goes to stderr.
  const out = json ? process.stderr : process.stdout;
  const print = (line: string) => out.write(`${line}\n`);
  const tty = out.isTTY === true;
  let statusShown = false;
  const clearStatus = () => {
    if (tty && statusShown) out.write('\r\x1b[K');
    statusShown = false;
  };

  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) {
      console.error('\nautoscaler demo: stopped without cleaning up; remove containers labelled autoscaler.service=demo-* and HAProxy servers as-demo-* by hand');
      process.exit(130);
    }
    clearStatus();
    console.error('autoscaler demo: stopping and cleaning up (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    print(`autoscaler demo: ${duration} s, load 0 → ${m.peak} → 0 req/s, target ${m.perReplica} req/s per replica, capacity ${m.capacity.min}..${m.capacity.max}, scale-down window ${scaleDownWindow(duration)} s`);
    const result = await runDemo(settings, {
      durationSeconds: duration,
      signal: controller.signal,
      log: (line) => {
        clearStatus();
        print(line);
      },
      onStatus: (_fields, line, tick) => {
        if (tty) {
          out.write(`\r\x1b[K${line}`);
          statusShown = true;
        } else if (tick) {
          print(line);
        }
      },
    });
    clearStatus();

    const acted = result.records.filter((r) => r.action !== 'none' || r.status === 'Failed');
    print(`\nAudit: ${result.records.length} records, ${acted.length} that acted or failed (the others: NotScaled, e.g. WithinTolerance, Stabilization):`);
    print(formatAuditRow(undefined));
    for (const record of acted) print(formatAuditRow(record));
    if (acted.length === 0) print('(none)');
    const failures = Object.entries(result.failures);
    if (failures.length > 0) print(`\nFailed requests: ${failures.map(([kind, count]) => `${kind} x${count}`).join(', ')}`);
    print(`\nCleaned up: ${count(result.cleanup.containers.length, 'container')}, ${count(result.cleanup.servers.length, 'HAProxy server')}.`);
    for (const error of result.cleanup.errors) console.error(`autoscaler demo: cleanup: ${error}`);

    const s = result.summary;
    if (json) console.log(JSON.stringify(s));
    else print(`Summary: ${count(s.scaleOuts, 'scale-out')}, ${count(s.scaleIns, 'scale-in')}, peak ${count(s.peakReplicas, 'replica')}, ${s.underProvisionedSeconds} s under-provisioned, ${count(s.failedRequests, 'failed request')}.`);
    if (result.interrupted) return 130;
    return result.cleanup.errors.length > 0 ? 1 : 0;
  } catch (error) {
    clearStatus();
    console.error(`autoscaler demo: ${(error as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // As `local` does: connections a plug-in keeps between evaluations must not hold the process open.
    const { defaultRegistry, releasePlugins } = await import('../../shared/plugins/registry.ts');
    for (const error of await releasePlugins(defaultRegistry)) console.error(`autoscaler demo: closing connections: ${error}`);
  }
}
