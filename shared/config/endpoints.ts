/**
 * Named endpoints: where the Docker hosts, HAProxy runtime APIs, Redis servers, Kubernetes clusters
 * (and whatever else a plug-in reads) that policies refer to by name live; each kind is owned by a
 * plug-in of the catalog, shared/plugins/catalog.ts. No secret is ever stored here: TLS material is a file path (locally) or a Secrets Manager secret id (in AWS); a Redis password likewise.
 */
// zod/mini, as every schema the Lambda handlers load (see shared/policy/schema.ts).
import * as z from 'zod/mini';
import '../zod-locale.ts';

import { endpointKinds, type CataloguedEndpointKind } from '../plugins/catalog.ts';
import { HaproxyEndpoint } from '../plugins/metrics/haproxy/descriptor.ts';
import { RedisEndpoint } from '../plugins/metrics/redis/descriptor.ts';
import { DockerEndpoint } from '../plugins/targets/docker/descriptor.ts';
import { KubernetesEndpoint } from '../plugins/targets/kubernetes/descriptor.ts';

// Each endpoint kind's schema lives in its plug-in's folder; those that predate the catalog are re-exported here for their importers.
export { secretOrFile } from '../policy/fields.ts';
export { DockerEndpoint, HaproxyEndpoint, KubernetesEndpoint, RedisEndpoint };

type EndpointSchemas = { [K in CataloguedEndpointKind as K['kind']]: K['schema'] };
type EndpointsShape = { [K in keyof EndpointSchemas]: z.ZodMiniDefault<z.ZodMiniRecord<z.ZodMiniString<string>, EndpointSchemas[K]>> };

/** One record of named endpoints per endpoint kind of the catalog (shared/plugins/catalog.ts). */
export const Endpoints = z.strictObject(
  Object.fromEntries(endpointKinds.map((k) => [k.kind, z._default(z.record(z.string(), k.schema), {})])) as unknown as EndpointsShape,
);

export type Endpoints = z.output<typeof Endpoints>;
export type DockerEndpoint = z.output<typeof DockerEndpoint>;
export type HaproxyEndpoint = z.output<typeof HaproxyEndpoint>;
export type RedisEndpoint = z.output<typeof RedisEndpoint>;
export type KubernetesEndpoint = z.output<typeof KubernetesEndpoint>;
export type { SecretOrFile } from '../policy/fields.ts';

/** No endpoint of any kind. */
export const noEndpoints: Endpoints = Endpoints.parse({});

/** Looks an endpoint up by name, or throws an error naming what exists. */
export function endpointNamed<K extends keyof Endpoints>(endpoints: Endpoints, kind: K, endpointName: string): Endpoints[K][string] {
  const found = endpoints[kind][endpointName];
  if (!found) {
    const known = Object.keys(endpoints[kind]);
    throw new Error(`unknown ${kind} endpoint "${endpointName}" (configured: ${known.join(', ') || 'none'})`);
  }
  return found as Endpoints[K][string];
}
