/**
 * How a load balancer reaches a container (pure).
 *
 * Address rule, for the load-balancer plug-ins: a member is `{ name: <container name>, address:
 * <the container's IP on its primary network>, port: <the policy's loadBalancer.port> }`, i.e. the
 * load balancer must run where it can route to the container network (on the same Docker host, or
 * in a container on the same network) — as in the tests, where HAProxy on the host reaches
 * containers on the `autoscaler-test` bridge network at their IPs. A container without an IP of its
 * own (host network, `--network none`) falls back to the port published on the Docker host:
 * `{ address: <Docker host address; 127.0.0.1 for a unix socket>, port: <published host port> }`.
 */
import type Docker from 'dockerode';
import type { LoadBalancer } from '../../../policy/schema.ts';
import type { Member } from '../../types.ts';
import { containerName } from './spec.ts';

/** The container port traffic goes to: the load balancer's `port`, else the first exposed TCP port, else 80. */
export function servicePort(loadBalancer: LoadBalancer | undefined, info: Docker.ContainerInspectInfo | undefined): number {
  if (loadBalancer && 'port' in loadBalancer) return loadBalancer.port;
  const exposed = Object.keys(info?.Config?.ExposedPorts ?? {})
    .filter((p) => p.endsWith('/tcp'))
    .map((p) => Number.parseInt(p, 10))
    .filter((p) => Number.isInteger(p) && p > 0)
    .sort((a, b) => a - b);
  return exposed[0] ?? 80;
}

export function memberOf(info: Docker.ContainerInspectInfo, port: number, publishedAddress: string): Member | undefined {
  const name = containerName(info);
  const networks = info.NetworkSettings?.Networks ?? {};
  const mode = info.HostConfig?.NetworkMode ?? '';
  const ordered = [mode, ...Object.keys(networks).sort()];
  for (const network of ordered) {
    const address = networks[network]?.IPAddress;
    if (address) return { name, address, port };
  }
  const published = info.NetworkSettings?.Ports?.[`${port}/tcp`]?.find((b) => b.HostPort);
  if (published) {
    const hostIp = published.HostIp && published.HostIp !== '0.0.0.0' && published.HostIp !== '::' ? published.HostIp : publishedAddress;
    return { name, address: hostIp, port: Number(published.HostPort) };
  }
  return undefined;
}

