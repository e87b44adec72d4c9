/**
 * What the demo (and the reaction benchmark) need around the engine: settings from the
 * environment, a check that Docker and HAProxy answer (saying how to get them when not), the
 * template container of the demo service, and cleaning up every container and HAProxy server
 * the run created.
 */
import { existsSync, readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import type { Endpoints } from '../config/endpoints.ts';
import { endpointsFromEnvironment } from '../local/endpoints.ts';
import { runCommand, runtimeTarget, runExpecting, showServersState, type RuntimeTarget } from '../haproxy/runtime.ts';
import { targetServerPrefix } from '../plugins/loadbalancers/haproxy/loadbalancer.ts';
import { defaultRegistry, load } from '../plugins/registry.ts';
import { targetAccess, type LoadBalancerFactory, type ScaleTarget } from '../plugins/types.ts';
import { DockerTarget, type Policy } from '../policy/schema.ts';
import { dockerHost, type DockerHost } from '../plugins/targets/docker/client.ts';
import { SERVICE_LABEL } from '../plugins/targets/docker/spec.ts';

/** The endpoint name the demo gives its Docker host and HAProxy (as `autoscaler local` does). */
export const endpointName = 'local';
export const defaultImage = 'autoscaler-test/busybox:latest';
/** The port busybox httpd listens on inside each container. */
export const servicePort = 8080;
export const howToGetServices =
  'Start the local test services with `bash scripts/test-services.sh` (as root: it installs Debian\'s docker.io, haproxy and busybox-static, ' +
  'starts a private dockerd and HAProxy, and writes DOCKER_HOST, HAPROXY_RUNTIME, HAPROXY_FRONTEND, … to .test-services.env, which the demo reads).';

export interface DemoSettings {
  readonly endpoints: Endpoints;
  readonly dockerHost: string;
  readonly haproxyRuntime: string;
  /** Loopback port of the HAProxy frontend that sends traffic to `backend`. */
  readonly frontendPort: number;
  readonly backend: string;
  readonly image: string;
  /** Docker network for the containers; the host must route to it (a user-defined bridge on Linux). */
  readonly network: string;
}

/**
 * Loads KEY=value lines of .test-services.env into `env` without overriding what is set
 * (so DOCKER_HOST=… on the command line wins), as the tests do.
 */
export function loadServicesEnvFile(file: URL, env: NodeJS.ProcessEnv = process.env): void {
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match && env[match[1]!] === undefined) env[match[1]!] = match[2]!;
  }
}

/** Reads and validates the settings; throws one message naming every missing or invalid one and how to get them. */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): DemoSettings {
  const problems: string[] = [];
  if (!env.DOCKER_HOST) problems.push('Docker: DOCKER_HOST is not set (unix:///path/to/docker.sock or tcp://127.0.0.1:PORT)');
  if (!env.HAPROXY_RUNTIME) problems.push('HAProxy: HAPROXY_RUNTIME is not set (host:port or /path/to/admin.sock of its runtime API)');
  if (!env.HAPROXY_FRONTEND) problems.push('HAProxy: HAPROXY_FRONTEND is not set (127.0.0.1:PORT of a frontend whose default backend is HAPROXY_BACKEND)');
  let frontendPort = 0;
  if (env.HAPROXY_FRONTEND) {
    const match = /^(?:127\.0\.0\.1|localhost):(\d{1,5})$/.exec(env.HAPROXY_FRONTEND);
    frontendPort = match ? Number(match[1]) : 0;
    // The load generator only ever sends to loopback.
    if (!match || frontendPort < 1 || frontendPort > 65535) problems.push(`HAPROXY_FRONTEND: "${env.HAPROXY_FRONTEND}" must be 127.0.0.1:PORT (the demo sends load to loopback only)`);
  }
  const backend = env.HAPROXY_BACKEND ?? 'web';
  if (!/^[A-Za-z0-9_.:-]{1,255}$/.test(backend)) problems.push(`HAPROXY_BACKEND: "${backend}" is not an HAProxy backend name (letters, digits, _ . : -)`);
  const image = env.TEST_IMAGE ?? defaultImage;
  if (!/^[a-z0-9][a-z0-9._/:@-]{0,254}$/.test(image)) problems.push(`TEST_IMAGE: "${image}" is not an image reference`);
  const network = env.TEST_NETWORK ?? 'bridge';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(network)) problems.push(`TEST_NETWORK: "${network}" is not a Docker network name`);
  let endpoints: Endpoints | undefined;
  try {
    endpoints = endpointsFromEnvironment({ DOCKER_HOST: env.DOCKER_HOST, HAPROXY_RUNTIME: env.HAPROXY_RUNTIME });
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0 || !endpoints) throw new Error(`${problems.join('\n')}\n${howToGetServices}`);
  return { endpoints, dockerHost: env.DOCKER_HOST!, haproxyRuntime: env.HAPROXY_RUNTIME!, frontendPort, backend, image, network };
}

export function runtimeOf(settings: DemoSettings): RuntimeTarget {
  return runtimeTarget(endpointName, settings.endpoints.haproxy[endpointName]!);
}

export async function dockerOf(settings: DemoSettings, signal: AbortSignal = new AbortController().signal): Promise<DockerHost> {
  return dockerHost(endpointName, { endpoints: settings.endpoints, signal });
}

function timeout<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

/**
 * Checks that Docker answers and has the image and network, and that HAProxy's runtime API answers
 * and has the backend. Returns one line per problem, each naming the service and how to get it.
 */
export async function checkServices(settings: DemoSettings): Promise<string[]> {
  const problems: string[] = [];
  try {
    const host = await dockerOf(settings);
    await timeout(3_000, 'ping', host.docker.ping());
    try {
      await timeout(5_000, 'image inspect', host.docker.getImage(settings.image).inspect());
    } catch (error) {
      problems.push(`Docker at ${settings.dockerHost} has no image ${settings.image} (${message(error)}); scripts/test-services.sh imports it from busybox-static, or set TEST_IMAGE to an image with busybox (sh, httpd).`);
    }
    try {
      await timeout(5_000, 'network inspect', host.docker.getNetwork(settings.network).inspect());
    } catch (error) {
      problems.push(`Docker at ${settings.dockerHost} has no network ${settings.network} (${message(error)}); set TEST_NETWORK to a bridge network the host routes to.`);
    }
  } catch (error) {
    problems.push(`Docker is not answering at ${settings.dockerHost} (${message(error)}).`);
  }
  try {
    const runtime = runtimeOf(settings);
    const info = await runCommand(runtime, 'show info', { timeoutMs: 3_000 });
    if (!/^Name: HAProxy/m.test(info)) throw new Error(`unexpected answer to "show info": ${JSON.stringify(info.slice(0, 80))}`);
    const state = await runCommand(runtime, `show servers state ${settings.backend}`, { timeoutMs: 3_000 });
    if (/Can't find backend/.test(state)) problems.push(`HAProxy at ${settings.haproxyRuntime} has no backend "${settings.backend}" (set HAPROXY_BACKEND to the backend behind HAPROXY_FRONTEND).`);
  } catch (error) {
    problems.push(`HAProxy's runtime API is not answering at ${settings.haproxyRuntime} (${message(error)}).`);
  }
  if (problems.length > 0) problems.push(howToGetServices);
  return problems;
}

/**
 * The shell command of the demo's busybox container: `/` answers the container's hostname (so a
 * client can tell replicas apart), `/cgi-bin/work` sleeps `costSeconds` first (a per-request cost
 * that shows in HAProxy's scur). A TERM trap makes `docker stop` quick (PID 1 ignores TERM otherwise).
 */
export function httpdCommand(costSeconds: number): string[] {
  const cost = Math.max(0, costSeconds).toFixed(3);
  const script = [
    'mkdir -p /www/cgi-bin',
    'hostname > /www/index.html',
    `printf '%s\\n' '#!/bin/sh' 'sleep ${cost}' 'printf "Content-Type: text/plain\\r\\n\\r\\n"' hostname > /www/cgi-bin/work`,
    'chmod +x /www/cgi-bin/work',
  ].join(' && ');
  return ['sh', '-c', `${script}; httpd -f -p ${servicePort} -h /www & trap 'kill $! 2>/dev/null; exit 0' TERM; wait`];
}

/** Creates and starts the service's one original container (the template the engine clones). */
export async function startTemplate(host: DockerHost, settings: DemoSettings, service: string, costSeconds: number): Promise<Docker.ContainerInspectInfo> {
  const container = await host.docker.createContainer({
    name: `${service}-template`,
    Image: settings.image,
    Cmd: httpdCommand(costSeconds),
    Labels: { [SERVICE_LABEL]: service },
    ExposedPorts: { [`${servicePort}/tcp`]: {} },
    StopTimeout: 2,
    HostConfig: { NetworkMode: settings.network },
  });
  await container.start();
  return container.inspect();
}

/** Removes every container of `service` (the template and all clones); returns their names. */
export async function removeServiceContainers(host: DockerHost, service: string): Promise<string[]> {
  const listed = await host.docker.listContainers({ all: true, filters: { label: [`${SERVICE_LABEL}=${service}`] } });
  const removed: string[] = [];
  await Promise.all(
    listed.map(async (c) => {
      try {
        await host.docker.getContainer(c.Id).remove({ force: true, v: true });
        removed.push((c.Names?.[0] ?? c.Id).replace(/^\//, ''));
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      }
    }),
  );
  return removed;
}

/**
 * Deletes every HAProxy server of `service` (the Docker target on the demo's endpoint) from the
 * backend: its names all start with that target's prefix, so other services' servers stay.
 */
export async function removeServiceServers(runtime: RuntimeTarget, backend: string, service: string): Promise<string[]> {
  const prefix = targetServerPrefix(DockerTarget.parse({ type: 'docker', endpoint: endpointName, service }));
  const ours = (await showServersState(runtime, backend)).filter((s) => s.name.startsWith(prefix));
  for (const server of ours) {
    const ref = `${backend}/${server.name}`;
    await runExpecting(runtime, `set server ${ref} state maint`, []);
    await runExpecting(runtime, `shutdown sessions server ${ref}`, []);
    await runExpecting(runtime, `del server ${ref}`, ['Server deleted.']).catch((error: unknown) => {
      if (!/No such server/.test(message(error))) throw error;
    });
  }
  return ours.map((s) => s.name);
}

/** Makes HAProxy hold exactly the service's running containers (the Docker target's reconcile, with the load balancer). */
export async function registerService(policy: Policy, settings: DemoSettings): Promise<void> {
  const ctx = { endpoints: settings.endpoints, signal: AbortSignal.timeout(30_000) };
  const target = await load<ScaleTarget>('targets', policy.target.type, defaultRegistry);
  const factory = await load<LoadBalancerFactory>('loadBalancers', policy.loadBalancer!.type, defaultRegistry);
  const loadBalancer = factory.create(policy.loadBalancer!, policy.target, ctx, targetAccess(target, policy.target, ctx));
  const result = await target.reconcile!({ policy, target: policy.target, loadBalancer }, ctx);
  if (((result.members as unknown[] | undefined)?.length ?? 0) === 0) {
    throw new Error(`the service's template container has no address HAProxy can reach (reconcile: ${JSON.stringify(result)})`);
  }
}


function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
