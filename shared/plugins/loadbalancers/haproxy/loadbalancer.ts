/**
 * HAProxy, kept in step through its runtime API (no reloads, no config file edits):
 * register = `add server <backend>/<name> <addr>:<port> check`, health checks on, state ready;
 * drain = state drain, wait (bounded) until the server's `scur` is 0, state maint, `del server`;
 * reconcile = make the backend hold exactly the given members, touching only servers whose name
 * carries the owning target's prefix (never servers from the static configuration, never servers
 * of another target sharing the backend). A wanted member's server left in MAINT or DRAIN (a drain
 * interrupted between `state drain` and `del server`, or a hand-made change) is set ready again:
 * the members passed in are running replicas, and a server in DRAIN would get no new traffic.
 *
 * The backend must use a dynamic-friendly balance algorithm (roundrobin, leastconn, first, random)
 * for HAProxy 2.6 to accept `add server`.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { endpointNamed } from '../../../config/endpoints.ts';
import { targetKey } from '../../../policy/schema.ts';
import type { HaproxyLoadBalancer as HaproxySpec, Target } from '../../../policy/schema.ts';
import type { LoadBalancerFactory, LoadBalancerPlugin, Member, PluginContext } from '../../types.ts';
import type { RuntimeTarget, ServerState } from '../../../haproxy/runtime.ts';
import { HaproxyRuntimeError, assertWord, runExpecting, runtimeTarget, showServersState, showStat } from '../../../haproxy/runtime.ts';

/** Every server the product adds carries this prefix; nothing else is ever changed or deleted. */
export const serverPrefix = 'as-';
const maxServerName = 63;
const drainPollMs = 200;
/** srv_admin_state bits (HAProxy src/server.h, enum srv_admin: SRV_ADMF_FMAINT, SRV_ADMF_FDRAIN). */
const adminForcedMaint = 0x01;
const adminForcedDrain = 0x08;

/**
 * The prefix of every server owned by `target`: `as-<first 6 hex of sha256(targetKey)>-`.
 * Several targets can share one backend; each sees and touches only the servers with its own
 * prefix. All prefixes have the same length, so none is the start of another.
 */
export function targetServerPrefix(target: Target): string {
  return `${serverPrefix}${createHash('sha256').update(targetKey(target)).digest('hex').slice(0, 6)}-`;
}

/**
 * The HAProxy server name of a member of `scope` (the owning target): the target's prefix +
 * container name, limited to [A-Za-z0-9_.-] and 63 characters.
 */
export function serverName(memberName: string, scope: Target): string {
  const original = memberName.replace(/^\/+/, '');
  const cleaned = original.replace(/[^A-Za-z0-9_.-]/g, '-');
  const name = `${targetServerPrefix(scope)}${cleaned}`;
  if (name.length <= maxServerName && cleaned === original) return name;
  // Sanitizing or cutting can make two names collide: a short hash of the original keeps them apart.
  const hash = createHash('sha256').update(memberName).digest('hex').slice(0, 8);
  return `${name.slice(0, maxServerName - 9)}-${hash}`;
}

function validateMember(member: Member): void {
  if (isIP(member.address) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(member.address)) {
    throw new Error(`member "${member.name}": address "${member.address}" is not an IP address or host name`);
  }
  if (!Number.isInteger(member.port) || member.port < 1 || member.port > 65535) {
    throw new Error(`member "${member.name}": port ${member.port} is not an integer 1-65535`);
  }
}

function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

export class HaproxyBackend implements LoadBalancerPlugin {
  readonly type = 'haproxy' as const;
  readonly backend: string;
  readonly drainTimeoutMs: number;
  /** The target whose servers this instance manages. */
  readonly owner: Target;
  private readonly prefix: string;
  private readonly runtime: RuntimeTarget;

  constructor(spec: HaproxySpec, owner: Target, runtime: RuntimeTarget) {
    this.backend = assertWord('backend', spec.backend);
    this.drainTimeoutMs = spec.drainTimeoutSeconds * 1000;
    this.owner = owner;
    this.prefix = targetServerPrefix(owner);
    this.runtime = runtime;
  }

  private nameOf(member: Member): string {
    return serverName(member.name, this.owner);
  }

  private run(command: string, ok: readonly string[], ctx: PluginContext): Promise<string> {
    return runExpecting(this.runtime, command, ok, ctx.signal);
  }

  /** Servers of the backend that belong to our target (its prefix), by name. */
  private async ownServers(ctx: PluginContext): Promise<Map<string, ServerState>> {
    const all = await showServersState(this.runtime, this.backend, ctx.signal);
    return new Map(all.filter((s) => s.name.startsWith(this.prefix)).map((s) => [s.name, s]));
  }

  async register(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    members.forEach(validateMember);
    const existing = await this.ownServers(ctx);
    const added: string[] = [];
    const updated: string[] = [];
    const unchanged: string[] = [];
    for (const member of members) {
      const name = this.nameOf(member);
      const ref = `${this.backend}/${name}`;
      const current = existing.get(name);
      if (!current) {
        try {
          await this.run(`add server ${ref} ${hostPort(member.address, member.port)} check`, ['New server registered.'], ctx);
          added.push(name);
        } catch (err) {
          // Someone else added it since we looked: that is what we wanted.
          if (!(err instanceof HaproxyRuntimeError && /Already exists a server/.test(err.message))) throw err;
          unchanged.push(name);
        }
      } else if (current.address !== member.address || current.port !== member.port) {
        await this.run(`set server ${ref} addr ${member.address} port ${member.port}`, [], ctx).catch(async (err: unknown) => {
          // 2.6 answers "IP changed from … to …" on success.
          if (err instanceof HaproxyRuntimeError && /changed from/.test(err.message)) return '';
          throw err;
        });
        updated.push(name);
      } else {
        unchanged.push(name);
      }
      // Dynamic servers start in maintenance with checks off; both commands are idempotent.
      await this.run(`enable health ${ref}`, [], ctx);
      await this.run(`set server ${ref} state ready`, [], ctx);
    }
    return { backend: this.backend, added, updated, unchanged };
  }

  async drain(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    const existing = await this.ownServers(ctx);
    const names = members.map((m) => this.nameOf(m));
    const absent = names.filter((n) => !existing.has(n));
    const present = names.filter((n) => existing.has(n));
    if (present.length === 0) return { backend: this.backend, removed: [], absent, timedOut: [] };
    return { ...(await this.drainServers(present, ctx)), absent };
  }

  private async drainServers(names: readonly string[], ctx: PluginContext) {
    for (const name of names) await this.run(`set server ${this.backend}/${name} state drain`, [], ctx);
    const deadline = Date.now() + this.drainTimeoutMs;
    let busy = new Set(names);
    for (;;) {
      const rows = await showStat(this.runtime, ctx.signal);
      busy = new Set(names.filter((name) => {
        const row = rows.find((r) => r.pxname === this.backend && r.svname === name);
        return row !== undefined && Number(row.scur || 0) + Number(row.qcur || 0) > 0;
      }));
      if (busy.size === 0 || Date.now() >= deadline) break;
      await sleep(drainPollMs, ctx.signal);
    }
    const timedOut = [...busy];
    for (const name of names) {
      const ref = `${this.backend}/${name}`;
      await this.run(`set server ${ref} state maint`, [], ctx);
      // Past the drain timeout the remaining sessions are cut, as a container stop would cut them.
      if (busy.has(name)) await this.run(`shutdown sessions server ${ref}`, [], ctx);
      await this.deleteServer(ref, ctx);
    }
    return { backend: this.backend, removed: [...names], timedOut };
  }

  /** `del server` refuses while connections are still being released: retry briefly. */
  private async deleteServer(ref: string, ctx: PluginContext): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.run(`del server ${ref}`, ['Server deleted.'], ctx);
        return;
      } catch (err) {
        if (err instanceof HaproxyRuntimeError && /No such server/.test(err.message)) return;
        if (attempt >= 25 || !(err instanceof HaproxyRuntimeError && /connections|in use|maintenance/.test(err.message))) throw err;
        await sleep(drainPollMs, ctx.signal);
      }
    }
  }

  async reconcile(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    members.forEach(validateMember);
    const existing = await this.ownServers(ctx);
    const wanted = new Map(members.map((m) => [this.nameOf(m), m]));
    const wantedExisting = [...existing.values()].filter((s) => wanted.has(s.name));
    const inMaint = wantedExisting.filter((s) => (s.adminState & adminForcedMaint) !== 0).map((s) => s.name);
    const inDrain = wantedExisting.filter((s) => (s.adminState & adminForcedDrain) !== 0).map((s) => s.name);
    const needsReady = new Set([...inMaint, ...inDrain]);
    // register() sets every server it touches ready, which clears both forced MAINT and forced DRAIN.
    const toRegister = members.filter((m) => {
      const name = this.nameOf(m);
      const current = existing.get(name);
      return !current || current.address !== m.address || current.port !== m.port || needsReady.has(name);
    });
    const extra = [...existing.keys()].filter((name) => !wanted.has(name));
    const registered = toRegister.length > 0 ? await this.register(toRegister, ctx) : { added: [], updated: [] };
    const drained = extra.length > 0 ? await this.drainServers(extra, ctx) : { removed: [], timedOut: [] };
    return {
      backend: this.backend,
      added: registered.added,
      updated: registered.updated,
      /** Wanted servers found in forced maintenance, now ready. */
      enabled: inMaint,
      /** Wanted servers found in forced drain (an interrupted drain), now ready. */
      undrained: inDrain,
      removed: drained.removed,
      timedOut: drained.timedOut,
    };
  }
}

export const haproxyLoadBalancer: LoadBalancerFactory<HaproxySpec> = {
  type: 'haproxy',
  create(spec: HaproxySpec, target: Target, ctx: PluginContext): LoadBalancerPlugin {
    return new HaproxyBackend(spec, target, runtimeTarget(spec.endpoint, endpointNamed(ctx.endpoints, 'haproxy', spec.endpoint)));
  },
};
