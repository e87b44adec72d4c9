/**
 * Deployment configuration of the bundled stack, from CDK context (`cdk.json` → "context" →
 * "autoscaler", or `npx cdk deploy -c autoscaler='{"replicaCeiling":50}'`). Every field is optional:
 * with none, the stack deploys with the construct's defaults. Validated here, with the field named.
 */
import { readFileSync } from 'node:fs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parse as parseYaml } from 'yaml';
// zod/mini, as the schemas the handlers load: one zod API throughout (see shared/policy/schema.ts).
import * as z from 'zod/mini';
import '../shared/zod-locale.ts';

const retentionDays = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');

export const DeploymentConfig = z.strictObject({
  /** Minutes between scheduled evaluations. */
  scheduleMinutes: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1440))),
  replicaCeiling: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(10_000))),
  /** Days an audit record is kept (DynamoDB TTL). */
  auditRetentionDays: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(36_500))),
  logRetentionDays: z.optional(
    z.number().check(z.int(), z.refine((d) => retentionDays.includes(d), { message: `one of CloudWatch Logs' retention periods: ${retentionDays.join(', ')}` })),
  ),
  /** ARN of an existing SNS topic the alarms publish to (else a new one). */
  alarmTopicArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN'))),
  /** ARN of an SNS topic for the operational alarms (function errors, dead letters). */
  operatorTopicArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN'))),
  /** YAML or JSON file with the named endpoints (shared/config/endpoints.ts), relative to the working directory. */
  endpointsFile: z.optional(z.string().check(z.minLength(1))),
  /** Names (or full ARNs) of the Secrets Manager secrets holding Docker TLS material and Redis passwords. */
  secrets: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** Regions whose ElastiCache clusters policies may name (default: the stack's region). */
  elastiCacheRegions: z.optional(z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'))).check(z.minLength(1))),
  eksClusters: z.optional(z.array(z.strictObject({ name: z.string().check(z.minLength(1)), namespaces: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)) }))),
  /** Put the functions in a VPC: its id and the (private, with a route to AWS APIs) subnet ids. */
  vpc: z.optional(
    z.strictObject({
      vpcId: z.string().check(z.regex(/^vpc-[0-9a-f]+$/, 'vpc-…')),
      subnetIds: z.array(z.string().check(z.regex(/^subnet-[0-9a-f]+$/, 'subnet-…'))).check(z.minLength(1)),
    }),
  ),
  dashboardTargets: z.optional(z.array(z.string().check(z.minLength(1)))),
  /** Destroy the policies/state tables, key and logs with the stack (the audit table is always kept). */
  destroyOnRemoval: z.optional(z.boolean()),
});
export type DeploymentConfig = z.output<typeof DeploymentConfig>;

/** Parses the context value (an object, or a JSON string when given with -c). */
export function parseDeploymentConfig(raw: unknown): DeploymentConfig {
  let value = raw ?? {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new Error(`context "autoscaler": not JSON (${(error as Error).message})`);
    }
  }
  const parsed = DeploymentConfig.safeParse(value);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `context "autoscaler".${i.path.join('.') || '(top)'}: ${i.message}`).join('\n'));
  return parsed.data;
}

/** Reads the endpoints file (YAML or JSON); the construct validates its content. */
export function readEndpointsFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`context "autoscaler".endpointsFile: cannot read "${path}" (${(error as Error).message})`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new Error(`context "autoscaler".endpointsFile: "${path}" is not YAML/JSON (${(error as Error).message})`);
  }
}
