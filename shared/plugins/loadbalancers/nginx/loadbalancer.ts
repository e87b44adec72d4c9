/**
 * nginx, kept in step by rewriting one file that holds the policy's upstream block, testing the
 * whole configuration (`nginx -t`) and reloading gracefully. A failed test puts the previous file
 * back and skips the reload, then throws with nginx's own message so the engine audits it.
 */
import { isIP } from 'node:net';
import type { NginxLoadBalancer as NginxSpec, Target } from '../../../policy/schema.ts';
import type { LoadBalancerFactory, LoadBalancerPlugin, Member, TargetAccess } from '../../types.ts';
import type { NginxControl } from './control.ts';
import { containerNginxControl } from './control.ts';

const header = '# Managed by the autoscaler: rewritten on every scale, hand edits are lost.\n';
const memberName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const hostName = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function validateMember(member: Member): Member {
  const name = member.name.replace(/^\/+/, '');
  if (!memberName.test(name)) throw new Error(`member name "${member.name}" is not a container name (letters, digits, _ . -)`);
  if (isIP(member.address) === 0 && !hostName.test(member.address)) throw new Error(`member "${name}": address "${member.address}" is not an IP address or host name`);
  if (!Number.isInteger(member.port) || member.port < 1 || member.port > 65535) throw new Error(`member "${name}": port ${member.port} is not an integer 1-65535`);
  return { name, address: member.address, port: member.port };
}

/** The upstream file for these members, sorted by name so the same set always renders the same bytes. */
export function renderUpstream(upstream: string, members: ReadonlyArray<Member>): string {
  if (!/^[A-Za-z0-9_]+$/.test(upstream)) throw new Error(`upstream "${upstream}" is not an nginx upstream name (letters, digits, _)`);
  const sorted = members.map(validateMember).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = sorted.map((m) => `    server ${isIP(m.address) === 6 ? `[${m.address}]` : m.address}:${m.port}; # ${m.name}`);
  // nginx refuses an upstream without servers: with no members, one that never takes traffic.
  if (lines.length === 0) lines.push('    server 127.0.0.1:9 down; # no members');
  return `${header}upstream ${upstream} {\n${lines.join('\n')}\n}\n`;
}

/** The members a file rendered by renderUpstream holds (other lines are ignored). */
export function parseUpstream(content: string | undefined): Member[] {
  if (!content) return [];
  const members: Member[] = [];
  for (const match of content.matchAll(/^\s*server\s+\[?([^\]\s;]+?)\]?:(\d+)\s*;\s*#\s*(\S+)\s*$/gm)) {
    if (match[3] === 'no') continue;
    members.push({ address: match[1]!, port: Number(match[2]), name: match[3]! });
  }
  return members;
}

export class NginxUpstream implements LoadBalancerPlugin {
  readonly type = 'nginx' as const;
  readonly upstream: string;
  readonly file: string;
  private readonly control: NginxControl;

  constructor(spec: Pick<NginxSpec, 'upstream' | 'file'>, control: NginxControl) {
    this.upstream = spec.upstream;
    this.file = spec.file;
    this.control = control;
  }

  /** Writes the members, tests, reloads; on a failed test restores the previous file and throws. */
  private async apply(change: (current: Member[]) => Member[]): Promise<{ before: Member[]; after: Member[]; changed: boolean }> {
    const previous = await this.control.read(this.file);
    const before = parseUpstream(previous);
    const after = change(before);
    const next = renderUpstream(this.upstream, after);
    if (next === previous) return { before, after, changed: false };
    await this.control.write(this.file, next);
    const test = await this.control.test();
    if (!test.ok) {
      await this.restore(previous);
      throw new Error(`${this.control.label}: configuration test failed, ${this.file} restored and nginx not reloaded: ${test.output}`);
    }
    try {
      await this.control.reload();
    } catch (err) {
      await this.restore(previous);
      throw err;
    }
    return { before, after, changed: true };
  }

  private async restore(previous: string | undefined): Promise<void> {
    if (previous === undefined) await this.control.remove(this.file);
    else await this.control.write(this.file, previous);
  }

  private summary(result: { before: Member[]; after: Member[]; changed: boolean }) {
    const names = (list: Member[]) => new Set(list.map((m) => `${m.name} ${m.address}:${m.port}`));
    const before = names(result.before);
    const after = names(result.after);
    return {
      upstream: this.upstream,
      file: this.file,
      reloaded: result.changed,
      added: [...after].filter((m) => !before.has(m)).map((m) => m.split(' ')[0]!).sort(),
      removed: [...before].filter((m) => !after.has(m)).map((m) => m.split(' ')[0]!).sort(),
    };
  }

  async register(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    const incoming = members.map(validateMember);
    const names = new Set(incoming.map((m) => m.name));
    return this.summary(await this.apply((current) => [...current.filter((m) => !names.has(m.name)), ...incoming]));
  }

  async drain(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    // A reload is graceful: old workers finish the requests they hold, so removal is the drain.
    const names = new Set(members.map((m) => m.name.replace(/^\/+/, '')));
    return this.summary(await this.apply((current) => current.filter((m) => !names.has(m.name))));
  }

  async reconcile(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    const wanted = members.map(validateMember);
    return this.summary(await this.apply(() => wanted));
  }
}

export const nginxLoadBalancer: LoadBalancerFactory<NginxSpec> = {
  type: 'nginx',
  create(spec: NginxSpec, target: Target, _ctx, access?: TargetAccess): LoadBalancerPlugin {
    if (!access?.containers) throw new Error(`the nginx load balancer runs in a container on the target's host, and a ${target.type} target offers no container access`);
    return new NginxUpstream(spec, containerNginxControl(access.containers, spec.container));
  },
};
