// Shared by the Docker target suites: a dockerode client on the test engine's socket, template
// containers on the test network, policies, and a load balancer that records what it was asked.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import type { LoadBalancerPlugin, Member, PluginContext } from '../../shared/plugins/types.ts';
import { Policy, type PolicyInput } from '../../shared/policy/schema.ts';
import { memoryPluginStateStore } from '../../shared/plugins/state.ts';
import type { DockerTarget } from '../../shared/policy/schema.ts';
import type { ScaleRequest } from '../../shared/plugins/types.ts';

/** Every container, volume and network a run creates carries this label, so cleanup finds them all. */
export const RUN_LABEL = 'autoscaler-test.run';
export const runId = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

export function socketPath(): string {
  const host = process.env.DOCKER_HOST ?? '';
  if (!host.startsWith('unix://')) throw new Error(`DOCKER_HOST must be unix:///path/to/docker.sock for these tests, got ${JSON.stringify(host)}`);
  return host.slice('unix://'.length);
}

let client: Docker | undefined;
export function testDocker(): Docker {
  client ??= new Docker({ socketPath: socketPath(), host: undefined, port: undefined } as Docker.DockerOptions);
  return client;
}

export const image = () => process.env.TEST_IMAGE!;
export const network = () => process.env.TEST_NETWORK!;
export const HTTP_PORT = 8080;
export const httpdCmd = ['httpd', '-f', '-p', String(HTTP_PORT), '-h', '/www'];

let counter = 0;
export function serviceName(prefix = 'svc'): string {
  counter += 1;
  return `${runId}-${prefix}${counter}`;
}

export interface TemplateOptions {
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly cmd?: string[];
  readonly managed?: boolean;
  readonly start?: boolean;
  readonly extra?: Partial<Docker.ContainerCreateOptions>;
}

/** Creates (and starts) an original container of `service` on the test network, serving HTTP on 8080. */
export async function createTemplate(service: string, options: TemplateOptions = {}): Promise<Docker.ContainerInspectInfo> {
  const docker = testDocker();
  const { HostConfig: hostConfig, ...extra } = options.extra ?? {};
  const container = await docker.createContainer({
    name: options.name ?? `${service}-orig${(counter += 1)}`,
    Image: image(),
    Cmd: options.cmd ?? httpdCmd,
    Labels: { 'autoscaler.service': service, [RUN_LABEL]: runId, ...(options.managed ? { 'autoscaler.managed': 'true' } : {}), ...options.labels },
    ...extra,
    HostConfig: { NetworkMode: network(), ...hostConfig },
  });
  if (options.start !== false) await container.start();
  return container.inspect();
}

export async function cleanupRun(): Promise<void> {
  const docker = testDocker();
  const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  // Volumes created implicitly by a mount carry no label, but their names start with the run id.
  const { Volumes } = await docker.listVolumes();
  const ours = (Volumes ?? []).filter((v) => v.Labels?.[RUN_LABEL] === runId || v.Name.startsWith(runId));
  await Promise.all(ours.map((v) => docker.getVolume(v.Name).remove().catch(() => undefined)));
  const networks = await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=${runId}`] } });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
}

export async function serviceContainers(service: string): Promise<Docker.ContainerInfo[]> {
  return testDocker().listContainers({ all: true, filters: { label: [`autoscaler.service=${service}`] } });
}

export function endpointsForSocket() {
  return { ...noEndpoints, docker: { local: { socket: socketPath() } } };
}

export function testContext(extra: Partial<PluginContext> = {}): PluginContext {
  return { endpoints: endpointsForSocket(), signal: AbortSignal.timeout(120_000), state: memoryPluginStateStore(), ...extra };
}

export function dockerPolicy(service: string, overrides: Omit<Partial<PolicyInput>, 'target'> & { target?: Record<string, unknown> } = {}): Policy {
  const { target, ...rest } = overrides;
  return Policy.parse({
    id: service.replace(/[^A-Za-z0-9._-]/g, '-'),
    target: { type: 'docker', endpoint: 'local', service, stopGraceSeconds: 1, startTimeoutSeconds: 20, ...target },
    capacity: { min: 0, max: 20 },
    metrics: [{ id: 'q', source: 'redis', endpoint: 'cache', list: 'queue' }],
    rule: { type: 'steps', metric: 'q', steps: [[0, 1]] },
    loadBalancer: { type: 'haproxy', endpoint: 'lb', backend: 'web', port: HTTP_PORT },
    ...rest,
  });
}

export function scaleRequest(policy: Policy, loadBalancer?: LoadBalancerPlugin): ScaleRequest<DockerTarget> {
  return { policy: policy as Policy & { target: DockerTarget }, target: policy.target as DockerTarget, ...(loadBalancer ? { loadBalancer } : {}) };
}

export interface LbEvent {
  readonly op: 'register' | 'drain' | 'reconcile';
  readonly members: Member[];
  /** Container state when the call was made (what the load balancer would find). */
  readonly states: Record<string, { running: boolean; health?: string; served?: string }>;
}

/** A load balancer that records each call with the state of the members' containers at that moment. */
export class RecordingLoadBalancer implements LoadBalancerPlugin {
  readonly type = 'haproxy' as const;
  readonly events: LbEvent[] = [];
  registerCalls = 0;
  /** Register call numbers (1-based) that throw, to test cleanup. */
  failRegisterOn = new Set<number>();
  /** Also GET / from each registered member, proving its address is reachable from here. */
  probeHttp = false;

  async #record(op: LbEvent['op'], members: ReadonlyArray<Member>): Promise<void> {
    const states: LbEvent['states'] = {};
    await Promise.all(
      members.map(async (m) => {
        const info = await testDocker().getContainer(m.name).inspect();
        const state: { running: boolean; health?: string; served?: string } = { running: info.State.Running };
        if (info.State.Health) state.health = info.State.Health.Status;
        if (this.probeHttp && op === 'register') state.served = await httpGet(`http://${m.address}:${m.port}/`).catch((e: Error) => `error: ${e.message}`);
        states[m.name] = state;
      }),
    );
    this.events.push({ op, members: [...members], states });
  }

  async register(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    this.registerCalls += 1;
    if (this.failRegisterOn.has(this.registerCalls)) throw new Error(`runtime API refused add server (test failure #${this.registerCalls})`);
    await this.#record('register', members);
    return { added: members.map((m) => m.name) };
  }

  async drain(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    await this.#record('drain', members);
    return { drained: members.map((m) => m.name) };
  }

  async reconcile(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    this.events.push({ op: 'reconcile', members: [...members], states: {} });
    return { members: members.map((m) => m.name) };
  }

  names(op: LbEvent['op']): string[] {
    return this.events.filter((e) => e.op === op).flatMap((e) => e.members.map((m) => m.name));
  }
}

export async function httpGet(url: string, timeoutMs = 2_000): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.text()).trim();
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const plainContext = (endpoints: PluginContext['endpoints'], extra: Partial<PluginContext> = {}): PluginContext => ({
  endpoints,
  signal: AbortSignal.timeout(30_000),
  ...extra,
});

/** The error `promise` rejects with; fails the test when it resolves instead. */
export async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure, but the call succeeded');
}
