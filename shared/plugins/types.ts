/**
 * The three kinds of plug-in, one small interface each (after KEDA's scaler interface).
 * Adding a metric source, a scale target or a load balancer is adding one folder under
 * shared/plugins/<kind>/<name>/ (a descriptor, shared/plugins/descriptor.ts, and an implementation
 * of one of these) and one line in shared/plugins/catalog.ts.
 */
import type { Endpoints } from '../config/endpoints.ts';
import type { MetricReading } from '../engine/types.ts';
import type { Sealed } from '../state/sealing.ts';
import type { LoadBalancer as LoadBalancerSpec, Metric, Policy, Target } from '../policy/schema.ts';

/** What every plug-in call gets: configuration and a way to give up. */
export interface PluginContext {
  readonly endpoints: Endpoints;
  /** Aborted when the evaluation's per-target timeout expires. */
  readonly signal: AbortSignal;
  /** Fetches a secret (Secrets Manager in AWS; absent locally, where TLS material comes from files). */
  readonly getSecret?: (secretId: string) => Promise<string>;
  /**
   * Plug-in state, one namespace per plug-in (shared/plugins/state.ts): durable where the evaluation
   * has a durable store (the state table, shared/state/plugin-state.ts); absent → process-wide memory.
   */
  readonly state?: PluginStateStore;
}

/** One plug-in's key-value state; values are JSON-like and copied in and out. */
export interface PluginState {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, with its value (e.g. all recorded containers of one service). */
  list(prefix: string): Promise<ReadonlyMap<string, unknown>>;
  /** Seals what must not be stored readable (a container's environment): store the sealed form instead. */
  readonly secrets: PluginSecrets;
}

/**
 * Envelope encryption bound to the deployment's key (KMS in AWS, a local key file for `autoscaler
 * local`) and to `context` plus the plug-in's namespace, so a sealed value copied elsewhere does not open.
 */
export interface PluginSecrets {
  seal(plaintext: string, context: Readonly<Record<string, string>>): Promise<SealedSecret>;
  open(sealed: SealedSecret, context: Readonly<Record<string, string>>): Promise<string>;
}

/** A sealed value as stored (shared/state/sealing.ts); opaque to plug-ins. */
export type SealedSecret = Sealed;

export interface PluginStateStore {
  namespace(name: string): PluginState;
}

// ---------------------------------------------------------------- metric sources

/** One metric of one policy, as the engine hands it to a source. */
export interface MetricRequest<M extends Metric = Metric> {
  /** Unique within one batch: `${policyId}/${metric.id}`. */
  readonly key: string;
  readonly metric: M;
}

/** A reading, `undefined` when there was no datapoint, or an error that names what failed. */
export type MetricResult = MetricReading | undefined | { readonly error: string };

export interface MetricSource<M extends Metric = Metric> {
  readonly source: M['source'];
  /**
   * Fetches every request of one evaluation in as few calls as the backend allows
   * (CloudWatch: one GetMetricData per 500 queries). Returns one result per request key.
   * Throws only when nothing could be fetched at all.
   */
  fetch(requests: ReadonlyArray<MetricRequest<M>>, ctx: PluginContext): Promise<Map<string, MetricResult>>;
  /** Closes connections kept open between evaluations (see `releasePlugins` in registry.ts). */
  release?(): Promise<void>;
}

// ---------------------------------------------------------------- scale targets

export interface TargetState {
  /** Replicas that exist now (Docker: running service containers; Kubernetes: spec.replicas). */
  readonly replicas: number;
  /** Docker only: labels of the service's containers, for `autoscaler.*` overrides. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Anything worth recording in the audit (container ids, resourceVersion, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ScaleResult {
  /** Replicas after the action. */
  readonly replicas: number;
  /** Containers created/removed, LB changes, API responses in short. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** An availability action the target took on its own (restart a stopped container, recreate a removed one). */
export interface AvailabilityAction {
  readonly action: 'restart' | 'recreate';
  readonly status: 'Successful' | 'Failed';
  readonly details: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

export interface ScaleRequest<T extends Target = Target> {
  readonly policy: Policy & { readonly target: T };
  readonly target: T;
  /** The load balancer to keep in step, when the policy has one. */
  readonly loadBalancer?: LoadBalancerPlugin;
}

export interface ScaleTarget<T extends Target = Target> {
  readonly type: T['type'];
  describe(request: ScaleRequest<T>, ctx: PluginContext): Promise<TargetState>;
  /**
   * Moves the target to `desired` replicas (and keeps its load balancer in step).
   * Throws on failure; an error with a `details` object (what was already done) has it recorded in the audit.
   */
  scale(request: ScaleRequest<T>, desired: number, ctx: PluginContext): Promise<ScaleResult>;
  /** Docker only: restart stopped, recreate removed containers, as the policy's `availability` allows. */
  ensureAvailability?(request: ScaleRequest<T>, ctx: PluginContext): Promise<AvailabilityAction[]>;
  /** Docker only: re-register running containers with the load balancer and sweep orphans; returns what changed. */
  reconcile?(request: ScaleRequest<T>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>>;
  /**
   * The members a load balancer should hold now (running, ready replicas with an address), when the
   * target knows them (descriptor capability `members`).
   */
  members?(request: ScaleRequest<T>, ctx: PluginContext): Promise<Member[]>;
  /**
   * Reaching into the containers on the target's host (descriptor capability `containers`): for a
   * load balancer that runs there (nginx in a container) or reads what its members declare (Traefik's labels).
   */
  containers?(target: T, ctx: PluginContext): ContainerAccess;
  /** Closes connections kept open between evaluations (see `releasePlugins` in registry.ts). */
  release?(): Promise<void>;
}

// ---------------------------------------------------------------- load balancers

/** A backend member: one container as the load balancer sees it. */
export interface Member {
  /** Stable name, e.g. the container name. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

/** Commands and files inside containers on one target's host, bound to the call's context. */
export interface ContainerAccess {
  /** What errors name, e.g. `docker endpoint "edge-1"`. */
  readonly label: string;
  /** The container's labels. */
  labels(container: string): Promise<Readonly<Record<string, string>>>;
  /** Runs a command in the running container: its exit code and its output (stdout and stderr together). */
  exec(container: string, command: readonly string[]): Promise<{ exitCode: number; output: string }>;
  /** A tar archive of `path` in the container; undefined when the path does not exist. */
  getArchive(container: string, path: string): Promise<Buffer | undefined>;
  /** Extracts a tar archive into `directory` in the container. */
  putArchive(container: string, directory: string, archive: Buffer): Promise<void>;
}

/** What a load balancer may use of its target: the target plug-in's capabilities, bound to the policy's target. */
export interface TargetAccess {
  /** Present when the target runs containers a load balancer can reach into (ScaleTarget.containers). */
  readonly containers?: ContainerAccess;
}

/** The access a target plug-in offers a load balancer for `target` (what the plug-in implements, nothing more). */
export function targetAccess<T extends Target>(plugin: ScaleTarget<T>, target: T, ctx: PluginContext): TargetAccess {
  return plugin.containers ? { containers: plugin.containers(target, ctx) } : {};
}

export interface LoadBalancerPlugin {
  readonly type: LoadBalancerSpec['type'];
  /** Adds members and enables them (health checks on). */
  register(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>>;
  /** Stops new traffic to members, waits (bounded) for their sessions to end, then removes them. */
  drain(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>>;
  /** Makes the backend hold exactly these members; returns what it had to change. */
  reconcile(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>>;
}

export interface LoadBalancerFactory<S extends LoadBalancerSpec = LoadBalancerSpec> {
  readonly type: S['type'];
  /**
   * Binds the policy's load balancer spec to a plug-in instance. `target` names the members' target
   * (HAProxy prefixes its server names with it); `access` is what the target's plug-in offers
   * (nginx and Traefik need its container access; absent: nothing), so no load balancer imports a
   * target's client.
   */
  create(spec: S, target: Target, ctx: PluginContext, access?: TargetAccess): LoadBalancerPlugin;
  /** Closes connections kept open between evaluations (see `releasePlugins` in registry.ts). */
  release?(): Promise<void>;
}
