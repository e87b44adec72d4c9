/**
 * Traefik follows Docker on its own: its Docker provider routes to every running container whose
 * `traefik.*` labels describe a router and a service, and drops a container when it stops. Clones
 * keep their template's labels, so there is nothing to push. What can go wrong is the labels: a
 * clone with a broken rule or port silently gets no traffic. So register/reconcile VERIFY the
 * labels of every member and fail (and the engine audits it) when Traefik could not route to it.
 */
import type { Target } from '../../../policy/schema.ts';
import type { ContainerAccess, LoadBalancerFactory, LoadBalancerPlugin, Member, PluginContext, TargetAccess } from '../../types.ts';

export interface TraefikLabelOptions {
  /** Traefik's `providers.docker.exposedByDefault`; when false a container needs `traefik.enable=true`. */
  readonly exposedByDefault?: boolean;
}

const matchers = new Set(['Host', 'HostRegexp', 'Path', 'PathPrefix', 'PathRegexp', 'Method', 'Header', 'HeaderRegexp', 'Headers', 'HeadersRegexp', 'Query', 'QueryRegexp', 'ClientIP', 'HostSNI', 'HostSNIRegexp', 'ALPN']);

/** Problems with a router rule, e.g. "Host(`a.example`) && PathPrefix(`/api`)"; empty when it looks valid. */
export function ruleProblems(rule: string): string[] {
  const problems: string[] = [];
  // Take the quoted arguments out first: they may contain anything, including parentheses.
  const quoted = /`[^`]*`|"(?:[^"\\]|\\.)*"/g;
  const skeleton = rule.replace(quoted, 'ARG');
  if (/[`"]/.test(skeleton)) problems.push('has an unterminated quote');
  let depth = 0;
  for (const ch of skeleton) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) problems.push('has unbalanced parentheses');
  // Past a broken quote or parenthesis every further finding would be noise.
  if (problems.length > 0) return problems;
  const calls = [...skeleton.matchAll(/([A-Za-z]+)\s*\(([^()]*)\)/g)];
  if (calls.length === 0) problems.push('has no matcher such as Host(`…`) or PathPrefix(`…`)');
  for (const [, name, args] of calls) {
    if (!matchers.has(name!)) problems.push(`uses unknown matcher ${name}(…)`);
    else if (!/^\s*ARG(\s*,\s*ARG)*\s*$/.test(args!)) problems.push(`${name}(…) needs quoted arguments, e.g. ${name}(\`value\`)`);
  }
  // What is left between matcher calls may only be operators and parentheses.
  const rest = skeleton.replace(/([A-Za-z]+)\s*\([^()]*\)/g, 'M').replace(/&&|\|\||!|[()\s]/g, '').replace(/M/g, '');
  if (rest !== '') problems.push(`has unexpected text "${rest.slice(0, 40)}" between matchers`);
  return problems;
}

/** Everything that would stop Traefik's Docker provider from routing to a container with these labels. */
export function validateTraefikLabels(labels: Readonly<Record<string, string>>, options: TraefikLabelOptions = {}): string[] {
  const problems: string[] = [];
  const enable = labels['traefik.enable'];
  if (enable === 'false') problems.push('traefik.enable is "false": Traefik ignores the container');
  else if (!(options.exposedByDefault ?? false) && enable !== 'true') problems.push('traefik.enable=true is missing (Traefik runs with exposedByDefault=false)');

  const routers = new Map<string, Record<string, string>>();
  const services = new Map<string, Record<string, string>>();
  for (const [key, value] of Object.entries(labels)) {
    const router = /^traefik\.(?:http|tcp)\.routers\.([^.]+)\.(.+)$/.exec(key);
    if (router) routers.set(router[1]!, { ...routers.get(router[1]!), [router[2]!]: value });
    const service = /^traefik\.(?:http|tcp)\.services\.([^.]+)\.(.+)$/.exec(key);
    if (service) services.set(service[1]!, { ...services.get(service[1]!), [service[2]!]: value });
  }
  if (routers.size === 0) problems.push('no router: set traefik.http.routers.<name>.rule');
  for (const [name, settings] of routers) {
    const where = `traefik.http.routers.${name}`;
    const rule = settings.rule;
    if (rule === undefined || rule.trim() === '') problems.push(`${where}.rule is missing`);
    else for (const problem of ruleProblems(rule)) problems.push(`${where}.rule "${rule}" ${problem}`);
    const entrypoints = settings.entrypoints;
    if (entrypoints === undefined || entrypoints.trim() === '') problems.push(`${where}.entrypoints is missing`);
    else if (!entrypoints.split(',').every((e) => /^[A-Za-z0-9_-]+$/.test(e.trim()))) problems.push(`${where}.entrypoints "${entrypoints}" is not a comma-separated list of entrypoint names`);
    const service = settings.service;
    if (service !== undefined && !service.includes('@') && !services.has(service)) problems.push(`${where}.service "${service}" names no service defined in the labels`);
  }
  if (services.size === 0) problems.push('no service port: set traefik.http.services.<name>.loadbalancer.server.port');
  for (const [name, settings] of services) {
    const port = settings['loadbalancer.server.port'];
    const where = `traefik.http.services.${name}.loadbalancer.server.port`;
    if (port === undefined) problems.push(`${where} is missing`);
    else if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) problems.push(`${where} "${port}" is not a port number 1-65535`);
  }
  return problems;
}

export type LabelsOf = (member: Member, ctx: PluginContext) => Promise<Readonly<Record<string, string>>>;

export class TraefikLabels implements LoadBalancerPlugin {
  readonly type = 'traefik' as const;
  private readonly labelsOf: LabelsOf;
  private readonly options: TraefikLabelOptions;

  constructor(labelsOf: LabelsOf, options: TraefikLabelOptions = {}) {
    this.labelsOf = labelsOf;
    this.options = options;
  }

  private async verify(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<string[]> {
    const problems: string[] = [];
    for (const member of members) {
      for (const problem of validateTraefikLabels(await this.labelsOf(member, ctx), this.options)) problems.push(`${member.name}: ${problem}`);
    }
    return problems;
  }

  async register(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    const problems = await this.verify(members, ctx);
    if (problems.length > 0) throw new Error(`traefik cannot route to ${problems.length === 1 ? 'a member' : 'members'}: ${problems.join('; ')}`);
    return { verified: members.map((m) => m.name), note: 'Traefik picks the containers up from their labels' };
  }

  async drain(members: ReadonlyArray<Member>): Promise<Readonly<Record<string, unknown>>> {
    // Traefik stops routing to a container when it stops; the target's stop grace period is the drain.
    return { members: members.map((m) => m.name), note: 'Traefik drops containers as they stop' };
  }

  async reconcile(members: ReadonlyArray<Member>, ctx: PluginContext): Promise<Readonly<Record<string, unknown>>> {
    const problems = await this.verify(members, ctx);
    if (problems.length > 0) throw new Error(`traefik cannot route to ${problems.length === 1 ? 'a member' : 'members'}: ${problems.join('; ')}`);
    return { added: [], removed: [], verified: members.map((m) => m.name) };
  }
}

/** The labels of a member's container, through the target's container access. */
function containerLabels(containers: ContainerAccess): LabelsOf {
  return async (member) => {
    try {
      return await containers.labels(member.name);
    } catch (err) {
      throw new Error(`${containers.label}: cannot read the labels of container ${member.name}: ${(err as Error).message}`, { cause: err });
    }
  };
}

export const traefikLoadBalancer: LoadBalancerFactory<{ type: 'traefik' }> = {
  type: 'traefik',
  create(_spec, target: Target, _ctx, access?: TargetAccess): LoadBalancerPlugin {
    if (!access?.containers) throw new Error(`the traefik load balancer verifies its members' container labels, and a ${target.type} target offers no container access`);
    return new TraefikLabels(containerLabels(access.containers));
  },
};
