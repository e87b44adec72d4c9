/** The `redis` metric source (a list length or a read-only integer command) and the `redis` endpoint kind. */
import * as z from 'zod/mini';
import { metricId, name, secretOrFile } from '../../../policy/fields.ts';
import type { EndpointKind, MetricSourceDescriptor } from '../../descriptor.ts';

export const RedisEndpoint = z.strictObject({
  /** `redis://host:port/db` or `rediss://…` for TLS; no password in the URL. */
  url: z.string().check(z.regex(/^rediss?:\/\/[^@\s]+$/, 'redis://host:port[/db] without credentials (use password)')),
  password: z.optional(secretOrFile),
});

export const redisEndpointKind = {
  kind: 'redis',
  schema: RedisEndpoint,
  checkForLambda(endpointName, redis, ctx) {
    ctx.secret(`redis.${endpointName}.password`, redis.password);
  },
} as const satisfies EndpointKind<'redis', typeof RedisEndpoint>;

const readOnlyRedisCommands = ['LLEN', 'XLEN', 'ZCARD', 'SCARD', 'HLEN', 'STRLEN', 'GET', 'DBSIZE', 'PFCOUNT', 'ZCOUNT', 'LINDEX', 'HGET', 'XPENDING'] as const;
export const RedisMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('redis'),
    /** Name of a Redis endpoint. */
    endpoint: name,
    /** Shorthand for `command: [LLEN, <list>]`. */
    list: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** A read-only command whose reply is an integer, e.g. `[ZCARD, jobs:delayed]`. */
    command: z.optional(z.tuple([z.enum(readOnlyRedisCommands)], z.string().check(z.maxLength(1024)))),
  })
  .check(z.refine((m) => (m.list === undefined) !== (m.command === undefined), { message: 'set exactly one of list or command' }))
  .register(z.globalRegistry, { description: 'A Redis list length or the integer result of a read-only command.' });

export const redisMetricDescriptor = {
  source: 'redis',
  schemas: [RedisMetric],
  endpointKind: redisEndpointKind,
  load: async () => (await import('./source.ts')).redisSource,
} as const satisfies MetricSourceDescriptor;
