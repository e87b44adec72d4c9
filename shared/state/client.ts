/**
 * DynamoDB clients and the stores built on them. One client per process (module scope in the handlers).
 * The SDK reads AWS_ENDPOINT_URL_DYNAMODB (and AWS_ENDPOINT_URL) by itself, so pointing the functions
 * or the CLI at dynalite needs no code here.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditStore } from './audit.ts';
import { PolicyStore } from './policies.ts';
import { DynamoPluginStateStore } from './plugin-state.ts';
import { KmsDataKeys, LocalDataKeys, MissingDataKeys, type DataKeys } from './sealing.ts';
import { StateStore } from './state.ts';
import { defaultAuditRetentionDays, specKeyEnvironment, tableEnvironment, type TableName, type TableNames } from './tables.ts';

export interface Stores {
  readonly policies: PolicyStore;
  readonly state: StateStore;
  readonly audit: AuditStore;
  /** Plug-ins' state (the Docker target's recorded container specs among it), secrets sealed with `specKeys`. */
  readonly pluginState: DynamoPluginStateStore;
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

/**
 * `specKeys` seal plug-ins' secrets (recorded container environments); without them, a key for this process only
 * (enough for a temporary store: the demo, tests; `autoscaler local` passes its folder's key file).
 */
export function storesFor(doc: DynamoDBDocumentClient, names: TableNames, options: { auditRetentionDays?: number; specKeys?: DataKeys } = {}): Stores {
  return {
    policies: new PolicyStore(doc, names.policies),
    state: new StateStore(doc, names.state),
    audit: new AuditStore(doc, names.audit, options.auditRetentionDays ?? defaultAuditRetentionDays),
    pluginState: new DynamoPluginStateStore(doc, names.state, options.specKeys ?? LocalDataKeys.ephemeral()),
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
 * AUDIT_RETENTION_DAYS optionally overrides the 400-day default. SPEC_KMS_KEY_ID names the KMS key
 * that seals recorded container environments; without it recording a spec with an environment
 * fails with that message (never stored in plain text). The CLI's commands record no specs.
 */
export function storesFromEnvironment(env: NodeJS.ProcessEnv = process.env, client: DynamoDBClient = new DynamoDBClient({})): Stores {
  const names = tableNamesFromEnvironment(env);
  const retention = env.AUDIT_RETENTION_DAYS === undefined ? undefined : Number(env.AUDIT_RETENTION_DAYS);
  if (retention !== undefined && !(Number.isInteger(retention) && retention >= 1 && retention <= 36_500)) {
    throw new Error(`AUDIT_RETENTION_DAYS: "${env.AUDIT_RETENTION_DAYS}" must be a whole number of days from 1 to 36500`);
  }
  const keyId = env[specKeyEnvironment];
  if (keyId !== undefined && !/^[A-Za-z0-9:/_.-]{1,2048}$/.test(keyId)) {
    throw new Error(`${specKeyEnvironment}: "${keyId}" is not a KMS key id, ARN or alias (1-2048 of A-Z a-z 0-9 : / _ . -)`);
  }
  const specKeys = keyId
    ? new KmsDataKeys(keyId)
    : new MissingDataKeys(`no key seals recorded container environments: set ${specKeyEnvironment} to the stack's KMS key (the stack sets it for its functions)`);
  return storesFor(documentClient(client), names, { ...(retention === undefined ? {} : { auditRetentionDays: retention }), specKeys });
}
