/**
 * Named endpoints: where the Docker hosts, HAProxy runtime APIs, Redis servers and Kubernetes
 * clusters that policies refer to by name live. No secret is ever stored here: TLS material is
 * a file path (locally) or a Secrets Manager secret id (in AWS); a Redis password likewise.
 */
// zod/mini, as every schema the Lambda handlers load (see shared/policy/schema.ts).
import * as z from 'zod/mini';
import '../zod-locale.ts';

/** TLS material, each item a file path or a Secrets Manager reference. */
const secretOrFile = z.union([
  z.strictObject({ file: z.string().check(z.minLength(1)) }),
  z.strictObject({ secretId: z.string().check(z.minLength(1)), jsonKey: z.optional(z.string().check(z.minLength(1))) }),
]);

export const DockerEndpoint = z.union([
  z.strictObject({ socket: z.string().check(z.regex(/^\//, 'an absolute path to a unix socket')) }),
  z.strictObject({
    /** `tcp://host:port`; plain TCP (no tls) is allowed to loopback only. */
    host: z.string().check(z.regex(/^tcp:\/\/[^/:]+:\d+$/, 'tcp://host:port')),
    tls: z.optional(z.strictObject({ ca: secretOrFile, cert: secretOrFile, key: secretOrFile })),
  }),
]);

export const HaproxyEndpoint = z.union([
  z.strictObject({ socket: z.string().check(z.regex(/^\//, 'an absolute path to a unix socket')) }),
  z.strictObject({ address: z.string().check(z.regex(/^[^:\s]+:\d+$/, 'host:port')) }),
]);

export const RedisEndpoint = z.strictObject({
  /** `redis://host:port/db` or `rediss://…` for TLS; no password in the URL. */
  url: z.string().check(z.regex(/^rediss?:\/\/[^@\s]+$/, 'redis://host:port[/db] without credentials (use password)')),
  password: z.optional(secretOrFile),
});

export const KubernetesEndpoint = z.union([
  z.strictObject({ eks: z.strictObject({ name: z.string().check(z.minLength(1)), region: z.optional(z.string().check(z.minLength(1))) }) }),
  z.strictObject({ kubeconfig: z.strictObject({ path: z.optional(z.string()), context: z.optional(z.string()) }) }),
]);

export const Endpoints = z.strictObject({
  docker: z._default(z.record(z.string(), DockerEndpoint), {}),
  haproxy: z._default(z.record(z.string(), HaproxyEndpoint), {}),
  redis: z._default(z.record(z.string(), RedisEndpoint), {}),
  kubernetes: z._default(z.record(z.string(), KubernetesEndpoint), {}),
});

export type Endpoints = z.output<typeof Endpoints>;
export type DockerEndpoint = z.output<typeof DockerEndpoint>;
export type HaproxyEndpoint = z.output<typeof HaproxyEndpoint>;
export type RedisEndpoint = z.output<typeof RedisEndpoint>;
export type KubernetesEndpoint = z.output<typeof KubernetesEndpoint>;
export type SecretOrFile = z.output<typeof secretOrFile>;

export const noEndpoints: Endpoints = { docker: {}, haproxy: {}, redis: {}, kubernetes: {} };

/** Looks an endpoint up by name, or throws an error naming what exists. */
export function endpointNamed<K extends keyof Endpoints>(endpoints: Endpoints, kind: K, endpointName: string): Endpoints[K][string] {
  const found = endpoints[kind][endpointName];
  if (!found) {
    const known = Object.keys(endpoints[kind]);
    throw new Error(`unknown ${kind} endpoint "${endpointName}" (configured: ${known.join(', ') || 'none'})`);
  }
  return found as Endpoints[K][string];
}
