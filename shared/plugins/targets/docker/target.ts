/**
 * The Docker scale target: a service is the set of containers labelled `autoscaler.service=NAME`
 * on one named Docker endpoint.
 *
 * - Scale out clones a template container (the oldest original, i.e. non-managed, running one),
 *   several at once up to `target.parallelism`; each clone takes traffic only once it runs (and is
 *   healthy, if it has a healthcheck): then it is registered with the load balancer.
 * - Scale in removes the newest managed clones first: drain from the load balancer, stop with the
 *   grace period, remove. Containers the product did not create are never removed.
 * - Availability restarts stopped containers and recreates removed originals from their recorded
 *   spec (see spec-store.ts), as the policy's `availability` allows.
 * - Reconcile sweeps managed containers that are not running and makes the load balancer hold
 *   exactly the running (and healthy) containers.
 *
 * Load-balancer members: `{ name: <container name>, address: <container IP on its primary network>,
 * port: <policy.loadBalancer.port> }`; see members.ts for the rule and its fallback. In the tests the
 * containers sit on the user-defined bridge network `$TEST_NETWORK`, which the host routes to.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { AvailabilityAction, LoadBalancerPlugin, Member, PluginContext, ScaleRequest, ScaleResult, ScaleTarget, TargetState } from '../../types.ts';
import { targetKey, type DockerTarget } from '../../../policy/schema.ts';
import { call, dockerHost, type DockerHost } from './client.ts';
import { dockerContainerAccess } from './containers.ts';
import { memberOf, servicePort } from './members.ts';
import { stateOf } from '../../state.ts';
import { stateSpecStore, type SpecStore } from './spec-store.ts';
import { MANAGED_LABEL, SERVICE_LABEL, cloneName, cloneSpec, compareCreated, containerName, specFromInspect, type ContainerSpec } from './spec.ts';

/** A scale step that did not fully succeed; `details` say what was created, removed and what failed. */
export class DockerScaleError extends Error {
  readonly details: Readonly<Record<string, unknown>>;
  constructor(message: string, details: Readonly<Record<string, unknown>>) {
    super(message);
    this.name = 'DockerScaleError';
    this.details = details;
  }
}

const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;

type Request = ScaleRequest<DockerTarget>;
type Listed = Docker.ContainerInfo;

const isManaged = (c: { Labels?: Record<string, string> | null }) => c.Labels?.[MANAGED_LABEL] === 'true';
const listedName = (c: Listed) => (c.Names?.[0] ?? c.Id).replace(/^\//, '');
const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function listService(host: DockerHost, service: string, signal: AbortSignal): Promise<Listed[]> {
  return call(host, `list containers of service "${service}"`, () =>
    host.docker.listContainers({ all: true, filters: { label: [`${SERVICE_LABEL}=${service}`] }, abortSignal: signal }),
  );
}

async function inspect(host: DockerHost, id: string, signal: AbortSignal): Promise<Docker.ContainerInspectInfo> {
  return call(host, `inspect container ${id.slice(0, 12)}`, () => host.docker.getContainer(id).inspect({ abortSignal: signal }));
}

/** Oldest original first, running before stopped; clones only when no original is left. */
export function templateOrder(containers: readonly Listed[]): Listed[] {
  const rank = (c: Listed) => (isManaged(c) ? 2 : 0) + (c.State === 'running' ? 0 : 1);
  return [...containers].sort((a, b) => rank(a) - rank(b) || a.Created - b.Created || listedName(a).localeCompare(listedName(b)));
}

/**
 * The template: first in `templateOrder`. The list gives creation times in whole seconds, so
 * containers created in the same second are told apart by inspecting them (nanoseconds).
 */
async function pickTemplate(host: DockerHost, listed: readonly Listed[], signal: AbortSignal): Promise<Listed | undefined> {
  const ordered = templateOrder(listed);
  const first = ordered[0];
  if (!first) return undefined;
  const tied = ordered.filter((c) => c.Created === first.Created && isManaged(c) === isManaged(first) && c.State === first.State);
  if (tied.length === 1) return first;
  const created = await Promise.all(tied.map(async (c) => ({ c, at: (await inspect(host, c.Id, signal)).Created })));
  created.sort((a, b) => compareCreated(a.at, b.at));
  return created[0]!.c;
}

/** Runs `work` over `items`, at most `bound` at a time, in order of start; never rejects. */
async function eachBounded<T, R>(items: readonly T[], bound: number, work: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!, index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(bound, items.length)) }, worker));
  return results;
}

/** Serialises load-balancer calls: plug-ins that rewrite a file (nginx) must not race each other. */
function serialised(lb: LoadBalancerPlugin | undefined): LoadBalancerPlugin | undefined {
  if (!lb) return undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = queue.then(fn);
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    type: lb.type,
    register: (members, ctx) => run(() => lb.register(members, ctx)),
    drain: (members, ctx) => run(() => lb.drain(members, ctx)),
    reconcile: (members, ctx) => run(() => lb.reconcile(members, ctx)),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits until the container runs, and is healthy when it has a healthcheck; returns its inspect. */
async function waitReady(host: DockerHost, id: string, timeoutSeconds: number, signal: AbortSignal): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let pause = POLL_FIRST_MS;
  for (;;) {
    const info = await inspect(host, id, signal);
    const name = containerName(info);
    const health = info.State.Health?.Status;
    if (info.State.Running && !info.State.Restarting && (health === undefined || health === 'healthy')) return info;
    if (health === 'unhealthy') throw new Error(`${host.label}: container ${name} is unhealthy: ${info.State.Health?.Log?.at(-1)?.Output?.trim() ?? 'no output'}`);
    if (!info.State.Running && ['exited', 'dead'].includes(info.State.Status)) {
      throw new Error(`${host.label}: container ${name} exited (code ${info.State.ExitCode}${info.State.Error ? `, ${info.State.Error}` : ''}) instead of running`);
    }
    if (Date.now() >= deadline) {
      throw new Error(`${host.label}: container ${name} was not ${health ? 'healthy' : 'running'} within ${timeoutSeconds} s (state ${info.State.Status}${health ? `, health ${health}` : ''})`);
    }
    await sleep(Math.min(pause, Math.max(1, deadline - Date.now())), signal);
    pause = Math.min(POLL_MAX_MS, Math.ceil(pause * 1.5));
  }
}

/** The image a new container should use: the recorded reference while it still names the same image, else the image id. */
async function imageFor(host: DockerHost, spec: ContainerSpec, signal: AbortSignal): Promise<string> {
  const reference = spec.body.Image ?? spec.imageId;
  try {
    const image = await host.docker.getImage(reference).inspect({ abortSignal: signal } as object);
    if (image.Id === spec.imageId) return reference;
  } catch {
    // The reference no longer resolves: fall back to the id below.
  }
  try {
    await host.docker.getImage(spec.imageId).inspect({ abortSignal: signal } as object);
    return spec.imageId;
  } catch {
    return reference; // neither is here; let create report the missing image.
  }
}

/** Creates a container from a spec (body in the request body, name in the query), then connects its other networks. */
async function createFromSpec(host: DockerHost, spec: ContainerSpec, signal: AbortSignal): Promise<Docker.Container> {
  const container = await call(host, `create container ${spec.name}`, () =>
    // `_query`/`_body` keep the body out of the URL: dockerode otherwise serialises every field into the query string too.
    host.docker.createContainer({ _query: { name: spec.name }, _body: spec.body, abortSignal: signal } as unknown as Docker.ContainerCreateOptions),
  );
  for (const attachment of spec.extraNetworks) {
    await call(host, `connect container ${spec.name} to network ${attachment.network}`, () =>
      host.docker.getNetwork(attachment.network).connect({ Container: container.id, EndpointConfig: attachment.endpointConfig, abortSignal: signal } as Docker.NetworkConnectOptions),
    );
  }
  return container;
}

async function removeQuietly(host: DockerHost, id: string): Promise<string | undefined> {
  try {
    await host.docker.getContainer(id).remove({ force: true, v: true });
    return undefined;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    return `${host.label}: remove container ${id.slice(0, 12)} failed: ${errorText(err)}`;
  }
}

interface StartedContainer {
  readonly name: string;
  readonly id: string;
  readonly member?: Member;
}

/** Starts a created or stopped container, waits until it is ready, then registers it with the load balancer. */
async function startAndRegister(
  host: DockerHost,
  request: Request,
  container: { id: string; name: string },
  lb: LoadBalancerPlugin | undefined,
  ctx: PluginContext,
): Promise<StartedContainer> {
  await call(host, `start container ${container.name}`, () => host.docker.getContainer(container.id).start({ abortSignal: ctx.signal }));
  const info = await waitReady(host, container.id, request.target.startTimeoutSeconds, ctx.signal);
  const member = memberOf(info, servicePort(request.policy.loadBalancer, info), host.publishedAddress);
  if (lb) {
    if (!member) throw new Error(`${host.label}: container ${container.name} has no address a load balancer can reach (no network IP, no published port)`);
    try {
      await lb.register([member], ctx);
    } catch (err) {
      throw new Error(`load balancer (${lb.type}) register of ${container.name} failed: ${errorText(err)}`, { cause: err });
    }
  }
  return { name: container.name, id: container.id, ...(member ? { member } : {}) };
}

/** Records the spec of every original container that is new or changed since last time. */
async function recordOriginals(store: SpecStore, key: string, infos: readonly Docker.ContainerInspectInfo[]): Promise<void> {
  const recorded = await store.list(key);
  for (const info of infos) {
    if (isManaged(info.Config)) continue;
    const spec = specFromInspect(info);
    const previous = recorded.get(spec.name);
    if (previous?.containerId === info.Id && JSON.stringify(previous.spec) === JSON.stringify(spec)) continue;
    await store.put(key, { containerId: info.Id, recordedAt: new Date().toISOString(), spec });
  }
}

/** Recorded specs live in the target's own plug-in state namespace (durable where the evaluation has a durable store). */
function specStoreOf(ctx: PluginContext): SpecStore {
  return stateSpecStore(stateOf(ctx, 'docker'));
}

// ---------------------------------------------------------------- scale out / in

async function scaleOut(host: DockerHost, request: Request, listed: readonly Listed[], count: number, ctx: PluginContext): Promise<ScaleResult> {
  const { target } = request;
  const key = targetKey(target);
  const running = listed.filter((c) => c.State === 'running').length;
  const store = specStoreOf(ctx);

  // The template: the oldest original (running first); with none left, a recorded spec of one.
  let template: ContainerSpec;
  let templateName: string;
  const candidate = await pickTemplate(host, listed, ctx.signal);
  if (candidate) {
    const info = await inspect(host, candidate.Id, ctx.signal);
    if (!isManaged(info.Config)) await recordOriginals(store, key, [info]);
    template = specFromInspect(info);
    templateName = template.name;
  } else {
    const recorded = [...(await store.list(key)).values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name))[0];
    if (!recorded) {
      throw new Error(`${host.label}: service "${target.service}" has no container to clone (none labelled ${SERVICE_LABEL}=${target.service}, none recorded)`);
    }
    template = recorded.spec;
    templateName = `${recorded.spec.name} (recorded spec)`;
  }
  const image = await imageFor(host, template, ctx.signal);
  const lb = serialised(request.loadBalancer);

  const names = Array.from({ length: count }, () => cloneName(target.service, Date.now(), randomBytes(3).toString('hex')));
  const outcomes = await eachBounded(names, target.parallelism, async (name) => {
    let id: string | undefined;
    try {
      const container = await createFromSpec(host, cloneSpec(template, name, image), ctx.signal);
      id = container.id;
      return await startAndRegister(host, request, { id, name }, lb, ctx);
    } catch (err) {
      // A clone that cannot take traffic must not linger: remove it, say so.
      const cleanup = id ? await removeQuietly(host, id) : undefined;
      throw Object.assign(new Error(errorText(err)), { clone: name, removed: id !== undefined && cleanup === undefined, cleanupError: cleanup });
    }
  });

  const created = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [{ name: o.value.name, id: o.value.id.slice(0, 12), address: o.value.member ? `${o.value.member.address}:${o.value.member.port}` : undefined }] : []));
  const failed = outcomes.flatMap((o) => {
    if (o.status === 'fulfilled') return [];
    const reason = o.reason as Error & { clone?: string; removed?: boolean; cleanupError?: string };
    return [{ name: reason.clone, error: reason.message, removed: reason.removed ?? false, ...(reason.cleanupError ? { cleanupError: reason.cleanupError } : {}) }];
  });
  const details = { action: 'scaleOut', template: templateName, image, requested: count, created, ...(failed.length > 0 ? { failed } : {}), loadBalancer: request.loadBalancer?.type ?? 'none' };
  const replicas = running + created.length;
  if (failed.length > 0) {
    throw new DockerScaleError(`${host.label}: scale out of service "${target.service}" failed for ${failed.length} of ${count} clones: ${failed[0]!.error}`, { ...details, replicas });
  }
  return { replicas, details };
}

async function scaleIn(host: DockerHost, request: Request, listed: readonly Listed[], count: number, ctx: PluginContext): Promise<ScaleResult> {
  const { target } = request;
  const running = listed.filter((c) => c.State === 'running');
  // Only managed clones are candidates; creation times from inspect (nanoseconds) order clones started in the same second.
  const clones = await Promise.all(running.filter(isManaged).map((c) => inspect(host, c.Id, ctx.signal)));
  clones.sort((a, b) => compareCreated(b.Created, a.Created) || containerName(b).localeCompare(containerName(a)));
  const chosen = clones.slice(0, count);
  const notRemovable = count - chosen.length;
  const lb = request.loadBalancer;
  const members = chosen.flatMap((info) => memberOf(info, servicePort(request.policy.loadBalancer, info), host.publishedAddress) ?? []);
  const base = { action: 'scaleIn', requested: count, ...(notRemovable > 0 ? { notRemovable, reason: 'only containers this product created (managed clones) are removed' } : {}) };

  let drained: Readonly<Record<string, unknown>> | undefined;
  if (lb && members.length > 0) {
    try {
      drained = await lb.drain(members, ctx);
    } catch (err) {
      // Nothing is stopped while it may still take traffic.
      throw new DockerScaleError(`load balancer (${lb.type}) drain failed, no container stopped: ${errorText(err)}`, {
        ...base,
        replicas: running.length,
        drainFailed: members.map((m) => m.name),
      });
    }
  }

  const outcomes = await eachBounded(chosen, target.parallelism, async (info) => {
    const name = containerName(info);
    const container = host.docker.getContainer(info.Id);
    await call(host, `stop container ${name}`, async () => {
      try {
        await container.stop({ t: target.stopGraceSeconds, abortSignal: ctx.signal } as object);
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 304) throw err; // 304: already stopped
      }
    });
    await call(host, `remove container ${name}`, () => container.remove({ v: true, abortSignal: ctx.signal } as object));
    return name;
  });
  const removed = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ name: containerName(chosen[i]!), error: errorText(o.reason) }] : []));
  const details = { ...base, removed, ...(failed.length > 0 ? { failed } : {}), ...(drained ? { loadBalancer: drained } : {}) };
  const replicas = running.length - removed.length;
  if (failed.length > 0) {
    throw new DockerScaleError(`${host.label}: scale in of service "${target.service}" failed for ${failed.length} of ${chosen.length} containers: ${failed[0]!.error}`, { ...details, replicas });
  }
  return { replicas, details };
}

/** Load-balancer members of the running (and healthy, when they have a healthcheck) containers. */
async function readyMembers(host: DockerHost, request: Request, listed: readonly Listed[], signal: AbortSignal): Promise<Member[]> {
  const running = await Promise.all(listed.filter((c) => c.State === 'running').map((c) => inspect(host, c.Id, signal)));
  const ready = running.filter((info) => info.State.Health === undefined || info.State.Health.Status === 'healthy');
  return ready.flatMap((info) => memberOf(info, servicePort(request.policy.loadBalancer, info), host.publishedAddress) ?? []);
}

// ---------------------------------------------------------------- the plug-in

export const dockerTarget: ScaleTarget<DockerTarget> = {
  type: 'docker',

  async describe(request, ctx): Promise<TargetState> {
    const host = await dockerHost(request.target.endpoint, ctx);
    const listed = await listService(host, request.target.service, ctx.signal);
    const template = await pickTemplate(host, listed, ctx.signal);
    return {
      replicas: listed.filter((c) => c.State === 'running').length,
      labels: { ...(template?.Labels ?? {}) },
      details: {
        template: template ? listedName(template) : undefined,
        containers: listed.slice(0, 50).map((c) => ({ name: listedName(c), id: c.Id.slice(0, 12), state: c.State, managed: isManaged(c) })),
      },
    };
  },

  async scale(request, desired, ctx): Promise<ScaleResult> {
    if (!Number.isInteger(desired) || desired < 0) throw new Error(`docker scale: desired replicas must be a whole number ≥ 0, got ${desired}`);
    const host = await dockerHost(request.target.endpoint, ctx);
    const listed = await listService(host, request.target.service, ctx.signal);
    const running = listed.filter((c) => c.State === 'running').length;
    if (desired > running) return scaleOut(host, request, listed, desired - running, ctx);
    if (desired < running) return scaleIn(host, request, listed, running - desired, ctx);
    return { replicas: running, details: { action: 'none' } };
  },

  async ensureAvailability(request, ctx): Promise<AvailabilityAction[]> {
    const { target, policy } = request;
    const host = await dockerHost(target.endpoint, ctx);
    const key = targetKey(target);
    const store = specStoreOf(ctx);
    const listed = await listService(host, target.service, ctx.signal);
    const originals = await Promise.all(listed.filter((c) => !isManaged(c)).map((c) => inspect(host, c.Id, ctx.signal)));
    await recordOriginals(store, key, originals);
    const lb = serialised(request.loadBalancer);
    const actions: AvailabilityAction[] = [];

    if (policy.availability.restartStopped) {
      const stopped = listed.filter((c) => c.State === 'exited' || (c.State === 'created' && !isManaged(c)));
      const outcomes = await eachBounded(stopped, target.parallelism, (c) => startAndRegister(host, request, { id: c.Id, name: listedName(c) }, lb, ctx));
      outcomes.forEach((o, i) => {
        const c = stopped[i]!;
        const details = { container: listedName(c), id: c.Id.slice(0, 12), managed: isManaged(c), previousState: c.State, registered: lb !== undefined && o.status === 'fulfilled' };
        actions.push(o.status === 'fulfilled' ? { action: 'restart', status: 'Successful', details } : { action: 'restart', status: 'Failed', details, error: errorText(o.reason) });
      });
    }

    if (policy.availability.recreateRemoved) {
      const present = new Set(listed.map(listedName));
      const missing = [...(await store.list(key)).values()].filter((r) => !present.has(r.spec.name));
      const outcomes = await eachBounded(missing, target.parallelism, async (recorded) => {
        const spec = { ...recorded.spec, body: { ...recorded.spec.body, Image: await imageFor(host, recorded.spec, ctx.signal) } };
        const container = await createFromSpec(host, spec, ctx.signal);
        try {
          const started = await startAndRegister(host, request, { id: container.id, name: spec.name }, lb, ctx);
          await recordOriginals(store, key, [await inspect(host, container.id, ctx.signal)]);
          return started;
        } catch (err) {
          await removeQuietly(host, container.id);
          throw err;
        }
      });
      outcomes.forEach((o, i) => {
        const recorded = missing[i]!;
        const details = { container: recorded.spec.name, previousId: recorded.containerId.slice(0, 12), image: recorded.spec.body.Image, recordedAt: recorded.recordedAt, ...(o.status === 'fulfilled' ? { id: o.value.id.slice(0, 12) } : {}) };
        actions.push(o.status === 'fulfilled' ? { action: 'recreate', status: 'Successful', details } : { action: 'recreate', status: 'Failed', details, error: errorText(o.reason) });
      });
    }
    return actions;
  },

  async members(request, ctx): Promise<Member[]> {
    const host = await dockerHost(request.target.endpoint, ctx);
    const listed = await listService(host, request.target.service, ctx.signal);
    return readyMembers(host, request, listed, ctx.signal);
  },

  containers(target, ctx) {
    return dockerContainerAccess(target.endpoint, ctx);
  },

  async reconcile(request, ctx): Promise<Readonly<Record<string, unknown>>> {
    const { target } = request;
    const host = await dockerHost(target.endpoint, ctx);
    const listed = await listService(host, target.service, ctx.signal);
    const startWindowSeconds = target.startTimeoutSeconds;
    const nowSeconds = Date.now() / 1000;
    // Orphans: clones that are not running. A freshly created one may still be starting (another evaluation's scale-out), so only old ones go.
    const orphans = listed.filter(
      (c) => isManaged(c) && (c.State === 'exited' || c.State === 'dead' || (c.State === 'created' && nowSeconds - c.Created > startWindowSeconds)),
    );
    const swept: string[] = [];
    const sweepFailed: Array<{ name: string; error: string }> = [];
    for (const orphan of orphans) {
      const problem = await removeQuietly(host, orphan.Id);
      if (problem) sweepFailed.push({ name: listedName(orphan), error: problem });
      else swept.push(listedName(orphan));
    }

    const members = await readyMembers(host, request, listed, ctx.signal);
    const loadBalancer = request.loadBalancer ? await request.loadBalancer.reconcile(members, ctx) : undefined;
    return {
      swept,
      ...(sweepFailed.length > 0 ? { sweepFailed } : {}),
      members: members.map((m) => `${m.name}=${m.address}:${m.port}`),
      ...(loadBalancer ? { loadBalancer } : {}),
    };
  },
};
