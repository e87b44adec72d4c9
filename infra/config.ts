/**
 * Deployment configuration of the bundled stack, from CDK context (`cdk.json` → "context" →
 * "autoscaler", or `npx cdk deploy -c autoscaler='{"replicaCeiling":50}'`). Every field is optional:
 * with none, the stack deploys with the construct's defaults. Validated here, with the field named.
 */
import { readFileSync } from 'node:fs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const retentionDays = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');

export const DeploymentConfig = z.strictObject({
  /** Minutes between scheduled evaluations. */
  scheduleMinutes: z.number().int().min(1).max(1440).optional(),
  replicaCeiling: z.number().int().min(1).max(10_000).optional(),
  /** Days an audit record is kept (DynamoDB TTL). */
  auditRetentionDays: z.number().int().min(1).max(36_500).optional(),
  logRetentionDays: z.number().int().refine((d) => retentionDays.includes(d), { message: `one of CloudWatch Logs' retention periods: ${retentionDays.join(', ')}` }).optional(),
  /** ARN of an existing SNS topic the alarms publish to (else a new one). */
  alarmTopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN').optional(),
  /** ARN of an SNS topic for the operational alarms (function errors, dead letters). */
  operatorTopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN').optional(),
  /** YAML or JSON file with the named endpoints (shared/config/endpoints.ts), relative to the working directory. */
  endpointsFile: z.string().min(1).optional(),
  /** Names (or full ARNs) of the Secrets Manager secrets holding Docker TLS material and Redis passwords. */
  secrets: z.array(z.string().min(1)).optional(),
  eksClusters: z.array(z.strictObject({ name: z.string().min(1), namespaces: z.array(z.string().min(1)).min(1) })).optional(),
  /** Put the functions in a VPC: its id and the (private, with a route to AWS APIs) subnet ids. */
  vpc: z.strictObject({ vpcId: z.string().regex(/^vpc-[0-9a-f]+$/, 'vpc-…'), subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'subnet-…')).min(1) }).optional(),
  dashboardTargets: z.array(z.string().min(1)).optional(),
  /** Destroy the policies/state tables, key and logs with the stack (the audit table is always kept). */
  destroyOnRemoval: z.boolean().optional(),
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
