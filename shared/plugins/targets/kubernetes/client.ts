/**
 * The scale subresource over HTTPS, with Node's own client: the target makes two calls (GET and PUT
 * of `/apis/apps/v1/namespaces/<ns>/<deployments|statefulsets>/<name>/scale`), and loading
 * @kubernetes/client-node for them cost a cold start ~300 ms (bench/bundles.bench.ts). EKS endpoints
 * (DescribeCluster's endpoint and CA, a presigned STS token) and kubeconfig contexts with static
 * credentials (token, token file, client certificate; CA data or file) are read here. A kubeconfig
 * that needs more — an `exec` plug-in (`aws eks get-token`), an auth-provider, KUBECONFIG lists or
 * in-cluster discovery (no `path`) — goes through @kubernetes/client-node's KubeConfig, loaded by
 * dynamic import() then only (the bundle leaves it outside, infra/bundling.ts `lazyPackages`).
 * Loading this module sets the `kubernetesClientLoaded` marker, the library `kubernetesLibraryLoaded`,
 * so the bundle tests can see what a cold start loaded.
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { dirname, resolve } from 'node:path';
import type { KubernetesEndpoint } from '../../../config/endpoints.ts';
import type { KubernetesTarget } from '../../../policy/schema.ts';
import { lazyLibrary } from '../../lazy.ts';
import { describeEksCluster, eksToken, tokenRefreshMs } from './eks-token.ts';

(globalThis as Record<symbol, unknown>)[Symbol.for('autoscaler.kubernetesClientLoaded')] = true;

const kubernetesLibrary = lazyLibrary('kubernetesLibrary', () => import('@kubernetes/client-node'));
const yamlLibrary = lazyLibrary('yaml', () => import('yaml'));

/** An API answer other than 2xx: the HTTP status and the body (a Kubernetes Status object, as JSON text). */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  readonly code: number;
  readonly body: string;
  constructor(code: number, body: string) {
    super(`HTTP ${code}`);
    this.code = code;
    this.body = body;
  }
}

function isApiException(error: unknown): error is Error & { code: number; body: unknown } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}

export interface ScaleObject {
  readonly replicas: number;
  readonly resourceVersion: string | undefined;
}

/** How to reach one API server: its URL, and TLS and credentials on a keep-alive agent. */
interface Connection {
  readonly server: URL;
  readonly agent: HttpsAgent | HttpAgent;
  readonly headers: Readonly<Record<string, string>>;
}

interface CachedApi {
  readonly connection: Connection;
  /** When the credentials must be renewed (EKS token, exec plug-in); Infinity for static ones. */
  readonly renewAt: number;
}

const apis = new Map<string, CachedApi>();
let clock: () => number = Date.now;

export function setClientClock(now: () => number): void {
  clock = now;
}
export function clearClientCache(): void {
  for (const { connection } of apis.values()) connection.agent.destroy();
  apis.clear();
}

interface TlsAndAuth {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly rejectUnauthorized?: boolean | undefined;
  readonly headers?: Readonly<Record<string, string>>;
}

function connect(clusterName: string, server: string, options: TlsAndAuth): Connection {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`kubernetes endpoint "${clusterName}": server "${server}" is not a URL`);
  }
  const tls = { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized ?? true };
  const agent = url.protocol === 'http:' ? new HttpAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true, ...tls });
  return { server: url, agent, headers: { ...options.headers } };
}

/** The kubeconfig context's server and static credentials; undefined when it needs more (exec, auth-provider). */
async function staticKubeconfig(clusterName: string, path: string, context: string | undefined): Promise<Connection | undefined> {
  const { parse } = await yamlLibrary();
  const config = (parse(await readFile(path, 'utf8')) ?? {}) as Record<string, unknown>;
  const named = (list: unknown) => (Array.isArray(list) ? (list as Array<Record<string, any>>) : []);
  const contexts = named(config.contexts);
  const wanted = context ?? (config['current-context'] as string | undefined);
  if (context && !contexts.some((c) => c.name === context)) {
    throw new Error(`kubernetes endpoint "${clusterName}": context "${context}" is not in the kubeconfig (have: ${contexts.map((c) => c.name).join(', ') || 'none'})`);
  }
  const selected = contexts.find((c) => c.name === wanted)?.context as Record<string, string> | undefined;
  if (!selected) throw new Error(`kubernetes endpoint "${clusterName}": the kubeconfig ${path} has no current context; set kubeconfig.context`);
  const cluster = named(config.clusters).find((c) => c.name === selected.cluster)?.cluster as Record<string, unknown> | undefined;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`kubernetes endpoint "${clusterName}": cluster "${selected.cluster}" of context "${wanted}" is not in the kubeconfig ${path}`);
  const user = (named(config.users).find((u) => u.name === selected.user)?.user ?? {}) as Record<string, unknown>;
  if (user.exec || user['auth-provider'] || user.username || user.password || user.as || cluster['proxy-url']) return undefined;
  const relative = (file: unknown) => resolve(dirname(path), String(file));
  const either = async (data: unknown, file: unknown) => (typeof data === 'string' ? Buffer.from(data, 'base64') : typeof file === 'string' ? readFile(relative(file)) : undefined);
  const token = typeof user.token === 'string' ? user.token : typeof user.tokenFile === 'string' ? (await readFile(relative(user.tokenFile), 'utf8')).trim() : undefined;
  return connect(clusterName, cluster.server, {
    ca: await either(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: await either(user['client-certificate-data'], user['client-certificate']),
    key: await either(user['client-key-data'], user['client-key']),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Everything else a kubeconfig can say, through @kubernetes/client-node's KubeConfig (runs exec plug-ins). */
async function libraryKubeconfig(clusterName: string, path: string | undefined, context: string | undefined): Promise<Connection> {
  const { KubeConfig } = await kubernetesLibrary();
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromDefault();
  if (context) {
    if (!config.getContexts().some((c) => c.name === context)) {
      throw new Error(`kubernetes endpoint "${clusterName}": context "${context}" is not in the kubeconfig (have: ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    config.setCurrentContext(context);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error(`kubernetes endpoint "${clusterName}": the kubeconfig has no current cluster`);
  const options: RequestOptions = {};
  await config.applyToHTTPSOptions(options);
  const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return connect(clusterName, cluster.server, { ca: options.ca as string | Buffer | undefined, cert: options.cert as string | Buffer | undefined, key: options.key as string | Buffer | undefined, rejectUnauthorized: options.rejectUnauthorized, headers });
}

/** The connection for the named cluster, cached per warm container (EKS tokens and exec credentials: renewed before they expire). */
async function connectionFor(clusterName: string, endpoint: KubernetesEndpoint, signal?: AbortSignal): Promise<Connection> {
  const cached = apis.get(clusterName);
  if (cached && cached.renewAt > clock()) return cached.connection;
  let connection: Connection;
  let renewAt = Number.POSITIVE_INFINITY;
  if ('eks' in endpoint) {
    const region = endpoint.eks.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new Error(`kubernetes endpoint "${clusterName}": set eks.region or AWS_REGION`);
    const cluster = await describeEksCluster(endpoint.eks.name, region, signal);
    const token = await eksToken(endpoint.eks.name, region);
    connection = connect(clusterName, cluster.endpoint, { ca: Buffer.from(cluster.caData, 'base64'), headers: { authorization: `Bearer ${token}` } });
    renewAt = clock() + tokenRefreshMs;
  } else {
    const { path, context } = endpoint.kubeconfig;
    const simple = path ? await staticKubeconfig(clusterName, path, context) : undefined;
    connection = simple ?? (await libraryKubeconfig(clusterName, path, context));
    // Exec plug-ins hand out short-lived tokens: ask again as often as for EKS.
    if (!simple) renewAt = clock() + tokenRefreshMs;
  }
  cached?.connection.agent.destroy();
  apis.set(clusterName, { connection, renewAt });
  return connection;
}

/** One JSON call; a non-2xx answer is a KubernetesApiError, an aborted one says it was cancelled. */
function call(connection: Connection, method: 'GET' | 'PUT', path: string, body: unknown, signal: AbortSignal | undefined, what: string): Promise<unknown> {
  const url = new URL(connection.server.pathname.replace(/\/$/, '') + path, connection.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolvePromise, reject) => {
    const cancelled = () => new Error(`${what}: cancelled (${signal?.reason instanceof Error ? signal.reason.message : 'deadline'})`);
    if (signal?.aborted) return reject(cancelled());
    const req = send(
      url,
      {
        method,
        agent: connection.agent,
        headers: { ...connection.headers, accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
        ...(signal ? { signal } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => reject(signal?.aborted ? cancelled() : err));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(new KubernetesApiError(status, text));
          try {
            resolvePromise(JSON.parse(text) as unknown);
          } catch {
            reject(new Error(`${what}: the API server answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('error', (err) => reject(signal?.aborted ? cancelled() : err));
    req.end(payload);
  });
}

function forget(clusterName: string): void {
  apis.get(clusterName)?.connection.agent.destroy();
  apis.delete(clusterName);
}

const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets' } as const;

/** Turns API errors into messages that say what to fix. */
export function explain(error: unknown, target: KubernetesTarget, verb: 'get' | 'update'): Error {
  if (isApiException(error)) {
    const what = `${target.kind} ${target.namespace}/${target.name} on cluster ${target.cluster}`;
    const status = parseStatus(error.body);
    if (error.code === 403) return new Error(`forbidden: needs verb ${verb} on ${plural[target.kind]}/scale in namespace ${target.namespace} (apps) — ${status ?? 'no detail'}`);
    if (error.code === 404) return new Error(`not found: ${what} (${status ?? 'no detail'})`);
    if (error.code === 401) return new Error(`unauthorized on cluster ${target.cluster}: the credentials were rejected (EKS: is there an access entry for this role?)`);
    return new Error(`Kubernetes API ${error.code} for ${what}: ${status ?? error.message}`);
  }
  return error as Error;
}

function parseStatus(body: unknown): string | undefined {
  try {
    const status = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof status?.message === 'string' ? status.message : undefined;
  } catch {
    return typeof body === 'string' && body ? body.slice(0, 200) : undefined;
  }
}

/** The autoscaling/v1 Scale object, as far as it is read here. */
interface Scale {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly spec?: { readonly replicas?: number };
}

function toScale(scale: Scale): ScaleObject {
  return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion };
}

const scalePath = (target: KubernetesTarget) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/${plural[target.kind]}/${encodeURIComponent(target.name)}/scale`;

/** Calls take the target's signal (the caller stops waiting at its deadline); a write is not even started once it has fired (the lease may be someone else's by then). */
function fenced(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new Error(`${what}: not sent, the evaluation was cancelled (deadline passed or lease lost)`);
}

export async function readScale(target: KubernetesTarget, endpoint: KubernetesEndpoint, signal?: AbortSignal): Promise<ScaleObject> {
  const connection = await connectionFor(target.cluster, endpoint, signal);
  try {
    fenced(signal, 'reading the scale');
    return toScale((await call(connection, 'GET', scalePath(target), undefined, signal, `reading ${target.kind} ${target.namespace}/${target.name} scale`)) as Scale);
  } catch (error) {
    if (isApiException(error) && error.code === 401) forget(target.cluster);
    throw explain(error, target, 'get');
  }
}

/**
 * The scale subresource changed between our read and our write (409 Conflict): someone else (a
 * user, a deploy, HPA) set replicas meanwhile. Their change stands; this evaluation's decision was
 * made on the old count, so it is recorded as failed and the next evaluation decides again from
 * the new one. `details` goes into the audit record.
 */
export class ScaleConflictError extends Error {
  override readonly name = 'ScaleConflictError';
  readonly details: { readonly from: number; readonly attempted: number; readonly readResourceVersion: string | undefined };
  constructor(message: string, details: ScaleConflictError['details']) {
    super(message);
    this.details = details;
  }
}

/**
 * Sets spec.replicas through the scale subresource with a PUT carrying the resourceVersion just read,
 * so a concurrent writer makes it fail with 409 instead of being overwritten. On 409 it does not
 * retry: retrying would write the same desired count over the concurrent change (the decision was
 * made on the count before it). It throws ScaleConflictError, recorded as a failed action; the next
 * evaluation reads the new count and decides again.
 */
export async function writeScale(target: KubernetesTarget, endpoint: KubernetesEndpoint, desired: number, signal?: AbortSignal): Promise<{ from: number; to: number; resourceVersion: string | undefined }> {
  const current = await readScale(target, endpoint, signal);
  const connection = await connectionFor(target.cluster, endpoint, signal);
  const body = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: target.name, namespace: target.namespace, ...(current.resourceVersion ? { resourceVersion: current.resourceVersion } : {}) },
    spec: { replicas: desired },
  };
  try {
    fenced(signal, `writing ${target.kind} ${target.namespace}/${target.name} scale`);
    const written = (await call(connection, 'PUT', scalePath(target), body, signal, `writing ${target.kind} ${target.namespace}/${target.name} scale`)) as Scale;
    return { from: current.replicas, to: written.spec?.replicas ?? desired, resourceVersion: written.metadata?.resourceVersion };
  } catch (error) {
    if (isApiException(error) && error.code === 409) {
      throw new ScaleConflictError(
        `conflict: ${target.kind} ${target.namespace}/${target.name} changed after it was read with ${current.replicas} replicas (resourceVersion ${current.resourceVersion ?? 'unknown'}); not overwritten with ${desired}, the next evaluation decides from the new count`,
        { from: current.replicas, attempted: desired, readResourceVersion: current.resourceVersion },
      );
    }
    throw explain(error, target, 'update');
  }
}
