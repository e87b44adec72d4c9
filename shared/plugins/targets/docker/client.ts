/**
 * Docker Engine clients for named endpoints: a local unix socket, or `tcp://host:port` with mutual
 * TLS (certificates from files locally, from Secrets Manager in AWS). Plain TCP is allowed to
 * loopback only: anything else is refused before a connection is attempted.
 *
 * Clients are cached per endpoint at module scope, so a warm Lambda reuses its connections. A TLS
 * client re-reads its certificates every `tlsRecheckMs` and is rebuilt when they changed, so a
 * rotated certificate is in use within `rotationPickupMs` (shared/config/rotation.ts).
 *
 * dockerode (with ssh2 and grpc-js, ~900 KB) is loaded by dynamic import() on the first client
 * creation only: the handler bundles leave it outside (infra/bundling.ts `nodeModules`), and a
 * static import would be hoisted to the bundle's top and loaded at every cold start. The global
 * marker lets the bundle tests see whether it was loaded.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type Docker from 'dockerode';
import type { DockerEndpoint } from '../../../config/endpoints.ts';
import { readSecretOrFile } from '../../../config/secret-or-file.ts';
import { tlsRecheckMs } from '../../../config/rotation.ts';
import { lazyLibrary } from '../../lazy.ts';
import { endpointNamed } from '../../../config/endpoints.ts';
import type { PluginContext } from '../../types.ts';

/** A client bound to one endpoint, with the label every error carries. */
export interface DockerHost {
  readonly name: string;
  /** e.g. `docker endpoint "edge-1" (tcp://10.0.0.5:2376)`: what errors name. */
  readonly label: string;
  /** The address a load balancer elsewhere uses to reach ports published on this host. */
  readonly publishedAddress: string;
  readonly docker: Docker;
}

/** Any failure talking to a Docker host; the message names the host and the operation. */
export class DockerHostError extends Error {
  readonly host: string;
  readonly statusCode: number | undefined;
  constructor(host: string, operation: string, cause: unknown) {
    super(`${host}: ${operation} failed: ${describeCause(cause)}`, { cause });
    this.name = 'DockerHostError';
    this.host = host;
    this.statusCode = (cause as { statusCode?: number } | undefined)?.statusCode;
  }
}

const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeCause(cause: unknown): string {
  const err = cause as { message?: string; code?: string; json?: { message?: string } } | undefined;
  // The engine's own message ("No such container: …") is clearer than dockerode's wrapper text.
  const message = err?.json?.message ?? err?.message ?? String(cause);
  const code = err?.code ?? '';
  if (/ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_REQUIRED/.test(code)) {
    return `TLS: the engine refused our client certificate (${code}); it must be signed by the CA the engine trusts (--tlscacert)`;
  }
  if (SERVER_CERT_CODES.has(code)) return `TLS: the engine's certificate is not trusted (${code}: ${message.split(';')[0]}); check the endpoint's tls.ca and the host name`;
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** True for `localhost` and 127.0.0.0/8: the only hosts plain TCP may reach. */
export function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/** Splits `tcp://host:port` (already validated by the endpoints schema). */
export function parseTcpHost(hostUrl: string): { hostname: string; port: number } {
  const match = /^tcp:\/\/([^/:]+):(\d+)$/.exec(hostUrl);
  if (!match) throw new Error(`docker endpoint host ${JSON.stringify(hostUrl)}: expected tcp://host:port`);
  const port = Number(match[2]);
  if (port < 1 || port > 65535) throw new Error(`docker endpoint host ${JSON.stringify(hostUrl)}: port must be 1-65535`);
  return { hostname: match[1]!, port };
}

export function hostLabel(name: string, endpoint: DockerEndpoint): string {
  return `docker endpoint "${name}" (${'socket' in endpoint ? `unix://${endpoint.socket}` : endpoint.host})`;
}

const dockerode = lazyLibrary('dockerode', async () => (await import('dockerode')).default);

// Every option is given explicitly: docker-modem otherwise fills gaps from DOCKER_HOST /
// DOCKER_CERT_PATH in the environment, which could silently point a named endpoint elsewhere.
const NO_ENV_DEFAULTS = { host: undefined, port: undefined, socketPath: undefined, ca: undefined, cert: undefined, key: undefined, version: undefined };

interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** The TLS material of a TLS endpoint (through the secret cache or from files); undefined otherwise. */
async function readTlsMaterial(endpoint: DockerEndpoint, label: string, ctx: PluginContext): Promise<TlsMaterial | undefined> {
  if ('socket' in endpoint || !endpoint.tls) return undefined;
  const [ca, cert, key] = await Promise.all([
    readSecretOrFile(endpoint.tls.ca, 'TLS CA certificate', label, ctx),
    readSecretOrFile(endpoint.tls.cert, 'TLS client certificate', label, ctx),
    readSecretOrFile(endpoint.tls.key, 'TLS client key', label, ctx),
  ]);
  return { ca, cert, key };
}

/** Tells material apart without keeping a second copy of the key around. */
function fingerprintOf(material: TlsMaterial | undefined): string {
  if (!material) return '';
  return createHash('sha256').update(JSON.stringify([material.ca, material.cert, material.key])).digest('hex');
}

async function createHost(name: string, endpoint: DockerEndpoint, material: TlsMaterial | undefined): Promise<DockerHost> {
  const label = hostLabel(name, endpoint);
  const DockerClient = await dockerode();
  if ('socket' in endpoint) {
    const docker = new DockerClient({ ...NO_ENV_DEFAULTS, socketPath: endpoint.socket, protocol: 'http' } as Docker.DockerOptions);
    return { name, label, publishedAddress: '127.0.0.1', docker };
  }
  const { hostname, port } = parseTcpHost(endpoint.host);
  if (!material) {
    if (!isLoopback(hostname)) {
      throw new Error(
        `${label}: plain TCP to ${hostname} is refused; a remote Docker host must be reached over mutual TLS ` +
          '(set tls: {ca, cert, key} on the endpoint, each a file or a Secrets Manager secret)',
      );
    }
    const docker = new DockerClient({ ...NO_ENV_DEFAULTS, host: hostname, port, protocol: 'http' } as Docker.DockerOptions);
    return { name, label, publishedAddress: hostname, docker };
  }
  // Node verifies the server's certificate against `ca` and its name against `hostname`.
  const { ca, cert, key } = material;
  const docker = new DockerClient({ ...NO_ENV_DEFAULTS, host: hostname, port, protocol: 'https', ca, cert, key } as Docker.DockerOptions);
  return { name, label, publishedAddress: hostname, docker };
}

interface CachedHost {
  readonly built: Promise<{ readonly host: DockerHost; readonly fingerprint: string }>;
  /** When the TLS material is read again (never for a socket or plain TCP endpoint). */
  readonly recheckAt: number;
}

const hosts = new Map<string, CachedHost>();

/**
 * The cached client for endpoint `name` (a changed endpoint definition gets a new client). A TLS
 * client whose material is older than `tlsRecheckMs` re-reads it first and is replaced when it
 * changed (a rotated certificate); unchanged material keeps the client and its connections.
 * `now` is injectable so tests can pass minutes without waiting for them.
 */
export function dockerHost(name: string, ctx: PluginContext, now: () => number = Date.now): Promise<DockerHost> {
  const endpoint = endpointNamed(ctx.endpoints, 'docker', name);
  const cacheKey = `${name}\u0000${JSON.stringify(endpoint)}`;
  const cached = hosts.get(cacheKey);
  const at = now();
  if (cached && at < cached.recheckAt) return cached.built.then((b) => b.host);
  const usesTls = !('socket' in endpoint) && endpoint.tls !== undefined;
  const entry: CachedHost = { built: build(name, endpoint, ctx, cached), recheckAt: usesTls ? at + tlsRecheckMs : Infinity };
  hosts.set(cacheKey, entry);
  entry.built.catch(() => {
    // A failed creation (unreadable certificate, say) is retried on the next call, not cached.
    if (hosts.get(cacheKey) === entry) hosts.delete(cacheKey);
  });
  return entry.built.then((b) => b.host);
}

async function build(name: string, endpoint: DockerEndpoint, ctx: PluginContext, previous: CachedHost | undefined) {
  const label = hostLabel(name, endpoint);
  const before = previous ? await previous.built.catch(() => undefined) : undefined;
  let material: TlsMaterial | undefined;
  try {
    material = await readTlsMaterial(endpoint, label, ctx);
  } catch (err) {
    // A failed re-read (Secrets Manager throttling, say) keeps the working client until the next recheck.
    if (before) return before;
    throw err;
  }
  const fingerprint = fingerprintOf(material);
  if (before && before.fingerprint === fingerprint) return before;
  return { host: await createHost(name, endpoint, material), fingerprint };
}

/** Drops cached clients (tests). */
export function forgetDockerHosts(): void {
  hosts.clear();
}

/** Runs one Engine API call and turns any failure into an error naming the host and the operation. */
export async function call<T>(host: DockerHost, operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof DockerHostError) throw err;
    throw new DockerHostError(host.label, operation, err);
  }
}
