/**
 * Which implementation serves each metric source, target type and load balancer type.
 * Implementations are loaded lazily so a handler only pays for what a policy uses
 * (the Kubernetes client is never loaded for Docker-only deployments).
 */
import { loadBalancerCatalog, metricSourceCatalog, targetCatalog } from './catalog.ts';
import type { LoadBalancerFactory, MetricSource, ScaleTarget } from './types.ts';

type Loader<T> = () => Promise<T>;

export interface Registry {
  readonly metricSources: Readonly<Record<string, Loader<MetricSource<any>>>>;
  readonly targets: Readonly<Record<string, Loader<ScaleTarget<any>>>>;
  readonly loadBalancers: Readonly<Record<string, Loader<LoadBalancerFactory<any>>>>;
}

/** The catalog's lazy loaders, by name (shared/plugins/catalog.ts). */
export const defaultRegistry: Registry = {
  metricSources: Object.fromEntries(metricSourceCatalog.map((d) => [d.source, d.load])),
  targets: Object.fromEntries(targetCatalog.map((d) => [d.type, d.load])),
  loadBalancers: Object.fromEntries(loadBalancerCatalog.map((d) => [d.type, d.load])),
};

/** A registry with some entries replaced, e.g. an in-memory target in tests. */
export function withOverrides(base: Registry, overrides: Partial<{ [K in keyof Registry]: Registry[K] }>): Registry {
  return {
    metricSources: { ...base.metricSources, ...overrides.metricSources },
    targets: { ...base.targets, ...overrides.targets },
    loadBalancers: { ...base.loadBalancers, ...overrides.loadBalancers },
  };
}

/** The plug-ins `load` handed out, per registry: what `releasePlugins` closes. */
const loaded = new WeakMap<Registry, Set<{ release?(): Promise<void> }>>();

export async function load<T>(kind: keyof Registry, name: string, registry: Registry): Promise<T> {
  const loader = (registry[kind] as Record<string, Loader<unknown>>)[name];
  if (!loader) throw new Error(`no ${kind} plug-in named "${name}" (have: ${Object.keys(registry[kind]).join(', ')})`);
  const plugin = (await loader()) as T & { release?(): Promise<void> };
  let used = loaded.get(registry);
  if (!used) loaded.set(registry, (used = new Set()));
  used.add(plugin);
  return plugin;
}

/**
 * Closes the connections every plug-in loaded through `registry` keeps between evaluations (Redis
 * clients above all: an open socket keeps a Node process alive). A Lambda keeps them for its next
 * invocation and never calls this; a process that ends — `autoscaler local`, the demo — must.
 * A failing release does not stop the others; the errors are returned, for the caller to report.
 */
export async function releasePlugins(registry: Registry): Promise<string[]> {
  const used = [...(loaded.get(registry) ?? [])];
  loaded.delete(registry);
  const outcomes = await Promise.allSettled(used.map((plugin) => plugin.release?.()));
  return outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason instanceof Error ? o.reason.message : String(o.reason)] : []));
}
