/**
 * Docker target reaction time, on the real test engine (scripts/test-services.sh):
 * 1. scale(+1) until the new clone answers HTTP, vs a plain create + start of the same container
 *    until it answers (the floor any tool pays on this engine); goal ≤ 1.3×.
 * 2. scale out by 10 at once: in parallel (bound 4 and 10) vs one at a time (bound 1).
 * No load balancer in the loop (the HAProxy version belongs to the load-balancer bench).
 */
import '../test/support/load-env.ts';
import { printTable } from './table.ts';
import { missingSettings } from '../test/support/services.ts';
import { dockerTarget } from '../shared/plugins/targets/docker/target.ts';
import { HTTP_PORT, RUN_LABEL, cleanupRun, createTemplate, dockerPolicy, httpdCmd, image, network, runId, scaleRequest, serviceName, testContext, testDocker } from '../test/docker/helpers.ts';

const ROUNDS = 7;

async function untilServes(address: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`http://${address}:${HTTP_PORT}/`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${address}:${HTTP_PORT} did not serve within 20 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export default async function (): Promise<void> {
  const missing = missingSettings(['DOCKER_HOST', 'TEST_IMAGE', 'TEST_NETWORK']);
  if (missing.length > 0) {
    console.log(`skipped: ${missing.join(', ')} not set (run scripts/test-services.sh)`);
    return;
  }
  const docker = testDocker();
  try {
    // ---------------------------------------------------------------- 1. reaction time
    const service = serviceName('bench');
    await createTemplate(service);
    const policy = dockerPolicy(service, { loadBalancer: undefined });
    const ctx = testContext();
    const viaTarget: number[] = [];
    const plain: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // The autoscaler: one more replica, until the new one answers.
      let started = performance.now();
      const result = await dockerTarget.scale(scaleRequest(policy), 2, ctx);
      const address = ((result.details.created as Array<{ address: string }>)[0]!.address).split(':')[0]!;
      await untilServes(address);
      viaTarget.push(performance.now() - started);
      await dockerTarget.scale(scaleRequest(policy), 1, ctx);

      // The floor: create + start the same container by hand, until it answers.
      started = performance.now();
      const container = await docker.createContainer({
        name: `${runId}-plain-${round}`,
        Image: image(),
        Cmd: httpdCmd,
        Labels: { [RUN_LABEL]: runId },
        HostConfig: { NetworkMode: network() },
      });
      await container.start();
      const info = await container.inspect();
      await untilServes(info.NetworkSettings.Networks[network()]!.IPAddress);
      plain.push(performance.now() - started);
      await container.remove({ force: true });
    }
    const targetMs = median(viaTarget);
    const plainMs = median(plain);
    printTable([
      { path: 'plain create + start until it serves', 'median ms': plainMs, 'min ms': Math.min(...plain), ratio: 1 },
      { path: 'dockerTarget.scale(+1) until it serves', 'median ms': targetMs, 'min ms': Math.min(...viaTarget), ratio: targetMs / plainMs },
    ]);
    console.log(`\n(${ROUNDS} rounds each, interleaved; goal: ratio ≤ 1.3)\n`);

    // ---------------------------------------------------------------- 2. scale out by 10
    const rows: Array<Record<string, string | number>> = [];
    let sequentialMs = 0;
    for (const bound of [1, 4, 10]) {
      const boundPolicy = dockerPolicy(service, { loadBalancer: undefined, target: { parallelism: bound } });
      const started = performance.now();
      const result = await dockerTarget.scale(scaleRequest(boundPolicy), 11, ctx);
      const elapsed = performance.now() - started;
      const addresses = (result.details.created as Array<{ address: string }>).map((c) => c.address.split(':')[0]!);
      await Promise.all(addresses.map(untilServes));
      if (bound === 1) sequentialMs = elapsed;
      rows.push({ 'scale out by 10': bound === 1 ? 'sequential (bound 1)' : `parallel (bound ${bound})`, 'ms until all run': elapsed, 'vs sequential': elapsed / sequentialMs });
      await dockerTarget.scale(scaleRequest(boundPolicy), 1, ctx);
    }
    printTable(rows);
    console.log(`\n(2-core machine, vfs storage driver; every clone verified to serve HTTP afterwards)`);
  } finally {
    await cleanupRun();
  }
}
