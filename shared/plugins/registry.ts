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

export async function load<T>(kind: keyof Registry, name: string, registry: Registry): Promise<T> {
  const loader = (registry[kind] as Record<string, Loader<unknown>>)[name];
  if (!loader) throw new Error(`no ${kind} plug-in named "${name}" (have: ${Object.keys(registry[kind]).join(', ')})`);
  return (await loader()) as T;
}
