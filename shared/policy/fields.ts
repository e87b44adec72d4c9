/**
 * Field schemas shared by the policy schema and the plug-in descriptors (shared/plugins/catalog.ts),
 * in a module of their own so a descriptor needs neither the policy schema nor the catalog.
 */
import * as z from 'zod/mini';
import '../zod-locale.ts';

export const name = z.string().check(
  z.minLength(1),
  z.maxLength(128),
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only, starting with a letter or digit'),
);
export const positiveInt = z.number().check(z.int(), z.minimum(1));
export const nonNegativeInt = z.number().check(z.int(), z.minimum(0));

export const metricId = z
  .string()
  .check(z.regex(/^[a-z][a-zA-Z0-9_]*$/, 'start with a lower-case letter; letters, digits and _ only (CloudWatch query id rules)'), z.maxLength(64));
export const cloudWatchStat = z
  .string()
  .check(z.regex(/^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?|tm\d{1,2}|IQM)$/, 'a CloudWatch statistic: Average, Sum, Minimum, Maximum, SampleCount, pNN, tmNN or IQM'));
export const period = z.number().check(
  z.int(),
  z.refine((p) => p === 1 || p === 5 || p === 10 || p === 30 || p % 60 === 0, {
    message: 'a CloudWatch period: 1, 5, 10, 30 or a multiple of 60 seconds',
  }),
);
export const region = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'));

/** TLS material or a password, each item a file path (locally) or a Secrets Manager reference (in AWS). */
export const secretOrFile = z.union([
  z.strictObject({ file: z.string().check(z.minLength(1)) }),
  z.strictObject({ secretId: z.string().check(z.minLength(1)), jsonKey: z.optional(z.string().check(z.minLength(1))) }),
]);
export type SecretOrFile = z.output<typeof secretOrFile>;
