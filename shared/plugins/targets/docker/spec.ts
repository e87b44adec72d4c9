/**
 * Container specs, pure: what `docker inspect` says a container is, turned back into an Engine
 * `POST /containers/create` body (the "recorded spec", used to recreate a removed container),
 * and that spec turned into a clone's (used to scale out).
 *
 * Known traps, handled here: the hostname is not copied to clones (each gets its own); compose's
 * labels are dropped from clones (compose would otherwise claim them); host ports become ephemeral
 * (the template holds the fixed ones); static IPs are not copied; the create call takes one network,
 * the others are connected after create (API < 1.44).
 */
import type Docker from 'dockerode';

export const SERVICE_LABEL = 'autoscaler.service';
/** Marks containers this product created: only those are ever removed. */
export const MANAGED_LABEL = 'autoscaler.managed';

export type CreateBody = Omit<Docker.ContainerCreateOptions, 'name' | 'platform' | 'abortSignal'>;

export interface NetworkAttachment {
  readonly network: string;
  readonly endpointConfig: Docker.EndpointSettings;
}

/** Everything needed to create a container like one that existed. */
export interface ContainerSpec {
  /** Container name, without the leading slash. */
  readonly name: string;
  /** Image id the container ran; `body.Image` is the reference it was created with. */
  readonly imageId: string;
  /** The create body, with the first network (if any) in NetworkingConfig. */
  readonly body: CreateBody;
  /** Networks beyond the first: connected after create, before start. */
  readonly extraNetworks: readonly NetworkAttachment[];
}

/** Network modes that are not a network the container has its own endpoint on. */
function isSharedNetworkMode(mode: string): boolean {
  return mode === 'host' || mode === 'none' || mode.startsWith('container:');
}

export function containerName(info: { Name: string }): string {
  return info.Name.replace(/^\//, '');
}

export function isComposeLabel(label: string): boolean {
  return label.startsWith('com.docker.compose.');
}

/** Inspect shows legacy links as `/target:/self/alias`; create wants `target:alias`. */
function createLink(link: string): string {
  const match = /^\/?([^:]+):\/?(?:[^/]+\/)?([^/]+)$/.exec(link);
  return match ? `${match[1]}:${match[2]}` : link;
}

function endpointFor(settings: Record<string, unknown> | undefined, shortId: string): Docker.EndpointSettings {
  const endpoint: Docker.EndpointSettings = {};
  // Docker adds the short container id as an alias by itself; user aliases (e.g. the service name) stay.
  const aliases = ((settings?.Aliases as string[] | null | undefined) ?? []).filter((a) => a !== shortId);
  if (aliases.length > 0) endpoint.Aliases = aliases;
  const links = (settings?.Links as string[] | null | undefined) ?? [];
  if (links.length > 0) endpoint.Links = links.map(createLink);
  const ipam = settings?.IPAMConfig as Docker.IPAMConfig | null | undefined;
  if (ipam && Object.values(ipam).some((v) => v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0))) endpoint.IPAMConfig = ipam;
  const driverOpts = settings?.DriverOpts as Record<string, string> | null | undefined;
  if (driverOpts && Object.keys(driverOpts).length > 0) endpoint.DriverOpts = driverOpts;
  return endpoint;
}

/**
 * The faithful spec of an existing container: same name, same fixed host ports, same static IPs,
 * its hostname when it was set by hand. Used to recreate the container after it was removed.
 */
export function specFromInspect(info: Docker.ContainerInspectInfo): ContainerSpec {
  const config = info.Config as Docker.ContainerInspectInfo['Config'] & Record<string, unknown>;
  const shortId = info.Id.slice(0, 12);
  const body: CreateBody = {
    Image: config.Image,
    Cmd: config.Cmd ?? undefined,
    Entrypoint: config.Entrypoint ?? undefined,
    Env: config.Env ?? undefined,
    Labels: { ...(config.Labels ?? {}) },
    User: config.User || undefined,
    WorkingDir: config.WorkingDir || undefined,
    ExposedPorts: config.ExposedPorts ?? undefined,
    Volumes: config.Volumes ?? undefined,
    Healthcheck: config.Healthcheck ?? undefined,
    StopSignal: (config.StopSignal as string | undefined) || undefined,
    StopTimeout: (config.StopTimeout as number | undefined) ?? undefined,
    Tty: config.Tty,
    OpenStdin: config.OpenStdin,
    StdinOnce: config.StdinOnce,
  };
  // Docker names a container's host after its short id unless told otherwise.
  if (config.Hostname && config.Hostname !== shortId) body.Hostname = config.Hostname;
  if (config.Domainname) body.Domainname = config.Domainname;

  // The whole HostConfig round-trips through create (limits, binds, mounts, restart policy, caps, …).
  const hostConfig: Docker.HostConfig & Record<string, unknown> = structuredClone(info.HostConfig) as Docker.HostConfig & Record<string, unknown>;
  delete hostConfig.ContainerIDFile;
  const links = hostConfig.Links as string[] | null | undefined;
  if (links && links.length > 0) hostConfig.Links = links.map(createLink);
  body.HostConfig = hostConfig;

  const mode = info.HostConfig.NetworkMode ?? 'default';
  const networks = (info.NetworkSettings?.Networks ?? {}) as Record<string, Record<string, unknown>>;
  const names = Object.keys(networks).sort();
  const extraNetworks: NetworkAttachment[] = [];
  if (!isSharedNetworkMode(mode) && names.length > 0) {
    const primary = networks[mode] ? mode : names[0]!;
    body.NetworkingConfig = { EndpointsConfig: { [primary]: endpointFor(networks[primary], shortId) } };
    for (const network of names) {
      if (network !== primary) extraNetworks.push({ network, endpointConfig: endpointFor(networks[network], shortId) });
    }
  }
  return { name: containerName(info), imageId: info.Image, body, extraNetworks };
}

/** Host port bindings with the host port left to Docker (ephemeral); the host IP stays. */
export function ephemeralPortBindings(bindings: unknown): Record<string, Array<{ HostIp: string; HostPort: string }>> | undefined {
  if (!bindings || typeof bindings !== 'object') return undefined;
  const result: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const [port, list] of Object.entries(bindings as Record<string, Array<{ HostIp?: string }> | null>)) {
    result[port] = (list ?? []).map((b) => ({ HostIp: b.HostIp ?? '', HostPort: '' }));
  }
  return result;
}

/**
 * A clone of a recorded spec: its own name and hostname, compose's labels dropped, the managed
 * label added, host ports ephemeral, no static IP or MAC address.
 */
export function cloneSpec(spec: ContainerSpec, name: string, image: string): ContainerSpec {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(spec.body.Labels ?? {})) if (!isComposeLabel(key)) labels[key] = value;
  labels[MANAGED_LABEL] = 'true';

  const hostConfig = { ...spec.body.HostConfig } as Docker.HostConfig & Record<string, unknown>;
  hostConfig.PortBindings = ephemeralPortBindings(hostConfig.PortBindings);

  const withoutStaticAddress = (endpoint: Docker.EndpointSettings): Docker.EndpointSettings => {
    const { IPAMConfig: _ip, MacAddress: _mac, ...rest } = endpoint;
    return rest;
  };
  const { Hostname: _hostname, Domainname: _domainname, ...body } = spec.body;
  const endpoints = spec.body.NetworkingConfig?.EndpointsConfig;
  return {
    name,
    imageId: spec.imageId,
    body: {
      ...body,
      Image: image,
      Labels: labels,
      HostConfig: hostConfig,
      ...(endpoints
        ? { NetworkingConfig: { EndpointsConfig: Object.fromEntries(Object.entries(endpoints).map(([n, e]) => [n, withoutStaticAddress(e)])) } }
        : {}),
    },
    extraNetworks: spec.extraNetworks.map((n) => ({ network: n.network, endpointConfig: withoutStaticAddress(n.endpointConfig) })),
  };
}

/** A container name for a new clone: the service name made name-safe, a time stamp and a random part. */
export function cloneName(service: string, now: number, random: string): string {
  const base = service.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'service';
  return `${base.slice(0, 80)}-as-${now.toString(36)}-${random}`;
}

/**
 * Orders Docker's RFC 3339 creation times to the nanosecond. Docker trims trailing zeros of the
 * fraction (`…:05.1Z` vs `…:05.123456789Z`), so plain string order is wrong; pad first.
 */
export function compareCreated(a: string, b: string): number {
  const normalise = (t: string) => t.replace(/(\.(\d+))?Z$/, (_m, _f, digits: string | undefined) => `.${(digits ?? '').padEnd(9, '0')}Z`);
  const x = normalise(a);
  const y = normalise(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
