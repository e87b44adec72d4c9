/**
 * The only module that uses @kubernetes/client-node, and only through a dynamic import(): the
 * bundle leaves the package outside (infra/bundling.ts `nodeModules`), and a static import would be
 * hoisted to the bundle's top and loaded at every cold start. So Docker-only deployments never load
 * the client. The global marker lets the bundle tests see whether it was loaded.
 */
import type { AppsV1Api, V1Scale } from '@kubernetes/client-node';
import type { KubernetesEndpoint } from '../../../config/endpoints.ts';
import type { KubernetesTarget } from '../../../policy/schema.ts';
import { lazyLibrary } from '../../lazy.ts';
import { describeEksCluster, eksToken, tokenRefreshMs } from './eks-token.ts';

type KubernetesClient = typeof import('@kubernetes/client-node');
const kubernetesClient = lazyLibrary<KubernetesClient>('kubernetesClient', () => import('@kubernetes/client-node'));

/** The client's ApiException, recognised without loading the client. */
function isApiException(error: unknown): error is Error & { code: number; body: unknown } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'body' in error;
}

export interface ScaleObject {
  readonly replicas: number;
  readonly resourceVersion: string | undefined;
}

interface CachedApi {
  readonly api: AppsV1Api;
  /** When an EKS token must be renewed; Infinity for kubeconfig contexts. */
  readonly renewAt: number;
}

const apis = new Map<string, CachedApi>();
let clock: () => number = Date.now;

export function setClientClock(now: () => number): void {
  clock = now;
}
export function clearClientCache(): void {
  apis.clear();
}

/** An apps/v1 client for the named cluster, cached per warm container (EKS: renewed before its token expires). */
export async function appsApi(clusterName: string, endpoint: KubernetesEndpoint, signal?: AbortSignal): Promise<AppsV1Api> {
  const cached = apis.get(clusterName);
  if (cached && cached.renewAt > clock()) return cached.api;
  const { AppsV1Api, KubeConfig } = await kubernetesClient();
  const config = new KubeConfig();
  let renewAt = Number.POSITIVE_INFINITY;
  if ('eks' in endpoint) {
    const region = endpoint.eks.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new Error(`kubernetes endpoint "${clusterName}": set eks.region or AWS_REGION`);
    const cluster = await describeEksCluster(endpoint.eks.name, region, signal);
    const token = await eksToken(endpoint.eks.name, region);
    config.loadFromOptions({
      clusters: [{ name: clusterName, server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'autoscaler', token }],
      contexts: [{ name: clusterName, cluster: clusterName, user: 'autoscaler' }],
      currentContext: clusterName,
    });
    renewAt = clock() + tokenRefreshMs;
  } else {
    const { path, context } = endpoint.kubeconfig;
    if (path) config.loadFromFile(path);
    else config.loadFromDefault();
    if (context) {
      if (!config.getContexts().some((c) => c.name === context)) {
        throw new Error(`kubernetes endpoint "${clusterName}": context "${context}" is not in the kubeconfig (have: ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      config.setCurrentContext(context);
    }
  }
  const api = config.makeApiClient(AppsV1Api);
  apis.set(clusterName, { api, renewAt });
  return api;
}

function forget(clusterName: string): void {
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

function toScale(scale: V1Scale): ScaleObject {
  return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion };
}

/**
 * The client (2.x) takes no AbortSignal, so a call is raced against the target's signal: the caller
 * stops waiting at its deadline, and `fenced` refuses to start a write once the signal has fired
 * (the lease may be someone else's by then).
 */
function abortable<T>(call: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return call;
  call.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`${what}: cancelled (${signal.reason instanceof Error ? signal.reason.message : 'deadline'})`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function fenced(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new Error(`${what}: not sent, the evaluation was cancelled (deadline passed or lease lost)`);
}

export async function readScale(target: KubernetesTarget, endpoint: KubernetesEndpoint, signal?: AbortSignal): Promise<ScaleObject> {
  const api = await appsApi(target.cluster, endpoint, signal);
  const args = { name: target.name, namespace: target.namespace };
  try {
    fenced(signal, 'reading the scale');
    const read = target.kind === 'Deployment' ? api.readNamespacedDeploymentScale(args) : api.readNamespacedStatefulSetScale(args);
    return toScale(await abortable(read, signal, `reading ${target.kind} ${target.namespace}/${target.name} scale`));
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
  const api = await appsApi(target.cluster, endpoint, signal);
  const args = { name: target.name, namespace: target.namespace };
  const current = await readScale(target, endpoint, signal);
  const body: V1Scale = {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: target.name, namespace: target.namespace, ...(current.resourceVersion ? { resourceVersion: current.resourceVersion } : {}) },
    spec: { replicas: desired },
  };
  try {
    fenced(signal, `writing ${target.kind} ${target.namespace}/${target.name} scale`);
    const write = target.kind === 'Deployment' ? api.replaceNamespacedDeploymentScale({ ...args, body }) : api.replaceNamespacedStatefulSetScale({ ...args, body });
    const written = await abortable(write, signal, `writing ${target.kind} ${target.namespace}/${target.name} scale`);
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
