/**
 * Every plug-in, one descriptor each (shared/plugins/descriptor.ts). The policy schema's unions,
 * the endpoints schema, the synth-time Lambda checks, the construct's IAM and the registry are all
 * derived from these lists: adding a plug-in is adding its folder and one line here.
 * Order matters only for the JSON Schema (unions list their members in this order).
 */
import type { EndpointKind, IamContext, IamStatement } from './descriptor.ts';
import { nginxLoadBalancerDescriptor } from './loadbalancers/nginx/descriptor.ts';
import { haproxyLoadBalancerDescriptor } from './loadbalancers/haproxy/descriptor.ts';
import { traefikLoadBalancerDescriptor } from './loadbalancers/traefik/descriptor.ts';
import { cloudWatchDescriptor } from './metrics/cloudwatch/descriptor.ts';
import { elastiCacheDescriptor } from './metrics/elasticache/descriptor.ts';
import { haproxyMetricDescriptor } from './metrics/haproxy/descriptor.ts';
import { nginxLogMetricDescriptor } from './metrics/nginx-log/descriptor.ts';
import { prometheusMetricDescriptor } from './metrics/prometheus/descriptor.ts';
import { redisMetricDescriptor } from './metrics/redis/descriptor.ts';
import { scrapeMetricDescriptor } from './metrics/scrape/descriptor.ts';
import { dockerTargetDescriptor } from './targets/docker/descriptor.ts';
import { kubernetesTargetDescriptor } from './targets/kubernetes/descriptor.ts';
import { memoryTargetDescriptor } from './targets/memory/descriptor.ts';

export const metricSourceCatalog = [
  cloudWatchDescriptor,
  elastiCacheDescriptor,
  haproxyMetricDescriptor,
  redisMetricDescriptor,
  prometheusMetricDescriptor,
  scrapeMetricDescriptor,
  nginxLogMetricDescriptor,
] as const;

export const targetCatalog = [dockerTargetDescriptor, kubernetesTargetDescriptor, memoryTargetDescriptor] as const;

export const loadBalancerCatalog = [haproxyLoadBalancerDescriptor, traefikLoadBalancerDescriptor, nginxLoadBalancerDescriptor] as const;

type Catalogued = (typeof metricSourceCatalog)[number] | (typeof targetCatalog)[number] | (typeof loadBalancerCatalog)[number];
/** The endpoint kinds of the catalogued plug-ins, each once. */
export type CataloguedEndpointKind = Extract<Catalogued, { endpointKind: unknown }>['endpointKind'];

export const endpointKinds: readonly CataloguedEndpointKind[] = [
  ...new Set([...targetCatalog, ...metricSourceCatalog, ...loadBalancerCatalog].flatMap((d) => ('endpointKind' in d ? [d.endpointKind] : []))),
] as CataloguedEndpointKind[];

/** Looks up an endpoint kind by name (for code that has the name only). */
export function endpointKindNamed(kind: string): EndpointKind<string, any> | undefined {
  return endpointKinds.find((k) => k.kind === kind);
}

/** Whether a metric source reads many requests in one call, independent of the targets (see MetricSourceDescriptor.batched). */
export function isBatchedSource(source: string): boolean {
  return metricSourceCatalog.some((d) => d.source === source && 'batched' in d && d.batched === true);
}

export function targetDescriptorOf(type: string): (typeof targetCatalog)[number] | undefined {
  return targetCatalog.find((d) => d.type === type);
}

/** The IAM statements the functions need: each plug-in's static grants, then each endpoint kind's for the configured endpoints. */
export function pluginIamStatements(endpoints: Readonly<Record<string, Readonly<Record<string, unknown>>>>, ctx: IamContext): IamStatement[] {
  const statements: IamStatement[] = [];
  for (const descriptor of [...metricSourceCatalog, ...targetCatalog, ...loadBalancerCatalog]) {
    if ('iam' in descriptor) statements.push(...(descriptor.iam as (c: IamContext) => IamStatement[])(ctx));
  }
  for (const kind of endpointKinds) {
    const configured = endpoints[kind.kind] ?? {};
    if ('iam' in kind && Object.keys(configured).length > 0) statements.push(...(kind.iam as (e: typeof configured, c: IamContext) => IamStatement[])(configured, ctx));
  }
  return statements;
}
