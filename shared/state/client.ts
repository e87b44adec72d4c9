/**
 * DynamoDB clients and the stores built on them. One client per process (module scope in the handlers).
 * The SDK reads AWS_ENDPOINT_URL_DYNAMODB (and AWS_ENDPOINT_URL) by itself, so pointing the functions
 * or the CLI at dynalite needs no code here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditStore } from './audit.ts';
import { PolicyStore } from './policies.ts';
import { DynamoSpecStore } from './specs.ts';
import { StateStore } from './state.ts';
import { defaultAuditRetentionDays, tableEnvironment, type TableName, type TableNames } from './tables.ts';

export interface Stores {
  readonly policies: PolicyStore;
  readonly state: StateStore;
  readonly audit: AuditStore;
  /** Recorded Docker container specs, for recreating removed containers. */
  readonly specs: DynamoSpecStore;
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}

/** A client for a local endpoint (dynalite): fixed dummy credentials, so no AWS configuration is needed. */
export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 10,
  });
}

export function storesFor(doc: DynamoDBDocumentClient, names: TableNames, options: { auditRetentionDays?: number } = {}): Stores {
  return {
    policies: new PolicyStore(doc, names.policies),
    state: new StateStore(doc, names.state),
    audit: new AuditStore(doc, names.audit, options.auditRetentionDays ?? defaultAuditRetentionDays),
    specs: new DynamoSpecStore(doc, names.state),
  };
}

/** Table names from POLICIES_TABLE / STATE_TABLE / AUDIT_TABLE; throws naming every one that is missing. */
export function tableNamesFromEnvironment(env: NodeJS.ProcessEnv = process.env): TableNames {
  const missing = Object.values(tableEnvironment).filter((key) => !env[key]);
  if (missing.length > 0) throw new Error(`set ${missing.join(', ')} to the table names (or use --local DIR)`);
  const names = {} as Record<TableName, string>;
  for (const [table, key] of Object.entries(tableEnvironment) as Array<[TableName, string]>) {
    const value = env[key]!;
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(value)) throw new Error(`${key}: "${value}" is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)`);
    names[table] = value;
  }
  return names;
}

/**
 * Stores over the tables named by the environment (the functions, and the CLI without --local).
 * AUDIT_RETENTION_DAYS optionally overrides the 400-day default.
 */
export function storesFromEnvironment(env: NodeJS.ProcessEnv = process.env, client: DynamoDBClient = new DynamoDBClient({})): Stores {
  const names = tableNamesFromEnvironment(env);
  const retention = env.AUDIT_RETENTION_DAYS === undefined ? undefined : Number(env.AUDIT_RETENTION_DAYS);
  if (retention !== undefined && !(Number.isInteger(retention) && retention >= 1 && retention <= 36_500)) {
    throw new Error(`AUDIT_RETENTION_DAYS: "${env.AUDIT_RETENTION_DAYS}" must be a whole number of days from 1 to 36500`);
  }
  return storesFor(documentClient(client), names, retention === undefined ? {} : { auditRetentionDays: retention });
}
