/** The `docker` scale target (containers on a Docker host, found by label) and the `docker` endpoint kind. */
import * as z from 'zod/mini';
import { name, nonNegativeInt, positiveInt, secretOrFile } from '../../../policy/fields.ts';
import type { EndpointKind, TargetDescriptor } from '../../descriptor.ts';

export const DockerEndpoint = z.union([
  z.strictObject({ socket: z.string().check(z.regex(/^\//, 'an absolute path to a unix socket')) }),
  z.strictObject({
    /** `tcp://host:port`; plain TCP (no tls) is allowed to loopback only. */
    host: z.string().check(z.regex(/^tcp:\/\/[^/:]+:\d+$/, 'tcp://host:port')),
    tls: z.optional(z.strictObject({ ca: secretOrFile, cert: secretOrFile, key: secretOrFile })),
  }),
]);

export const dockerEndpointKind = {
  kind: 'docker',
  schema: DockerEndpoint,
  checkForLambda(endpointName, docker, ctx) {
    const path = `docker.${endpointName}`;
    if ('socket' in docker) {
      ctx.problem(path, `a unix socket ("${docker.socket}") is not reachable from Lambda; use { host: "tcp://host:2376", tls: {...} }`);
      return;
    }
    if (!docker.tls) ctx.problem(path, 'a remote Docker host needs mutual TLS (tls: { ca, cert, key } as secrets)');
    ctx.secret(`${path}.tls.ca`, docker.tls?.ca);
    ctx.secret(`${path}.tls.cert`, docker.tls?.cert);
    ctx.secret(`${path}.tls.key`, docker.tls?.key);
  },
} as const satisfies EndpointKind<'docker', typeof DockerEndpoint>;

export const DockerTarget = z
  .strictObject({
    type: z.literal('docker'),
    /** Name of a Docker endpoint from the endpoints configuration. */
    endpoint: name,
    /** Containers labelled `autoscaler.service=<service>` form the service. */
    service: name,
    /** How many clones start at once. */
    parallelism: z._default(positiveInt.check(z.maximum(32)), 4),
    /** Seconds a container gets to stop before it is killed. */
    stopGraceSeconds: z._default(nonNegativeInt.check(z.maximum(120)), 10),
    /** Seconds a clone gets to be running (and healthy, if it has a healthcheck). */
    startTimeoutSeconds: z._default(positiveInt.check(z.maximum(600)), 60),
  })
  .register(z.globalRegistry, { description: 'Containers on a Docker host, found by label.' });

export const dockerTargetDescriptor = {
  type: 'docker',
  schema: DockerTarget,
  endpointKind: dockerEndpointKind,
  capabilities: { labelOverrides: true, members: true, containers: true },
  key: (target: z.output<typeof DockerTarget>) => `docker/${target.endpoint}/${target.service}`,
  load: async () => (await import('./target.ts')).dockerTarget,
} as const satisfies TargetDescriptor<typeof DockerTarget>;
