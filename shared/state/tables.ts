/**
 * The three tables, defined once: the CDK stack (infra/) and the local/test setup
 * (dynalite) both create them from these designs.
 *
 * Owner: the state work (issue 3) may refine attribute names and indexes, but keeps this shape.
 */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDesign {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDesign {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes: readonly IndexDesign[];
  /** Attribute holding an epoch-seconds expiry, for DynamoDB TTL. */
  readonly timeToLiveAttribute?: string;
}

export type TableName = 'policies' | 'state' | 'audit';

/** Environment variables through which the functions and the CLI learn the physical table names. */
export const tableEnvironment: Readonly<Record<TableName, string>> = {
  policies: 'POLICIES_TABLE',
  state: 'STATE_TABLE',
  audit: 'AUDIT_TABLE',
};

export const tableDesigns: Readonly<Record<TableName, TableDesign>> = {
  /** Policies: one item per policy (with its version); alarm bindings as extra items. */
  policies: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalSecondaryIndexes: [],
  },
  /** Leases, behavior history and trigger idempotency markers, all expiring. */
  state: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    globalSecondaryIndexes: [],
    timeToLiveAttribute: 'expiresAt',
  },
  /** Audit: by target and time (table keys), by policy and time, and by day for unfiltered queries. */
  audit: {
    partitionKey: { name: 'target', type: 'S' },
    sortKey: { name: 'at', type: 'S' },
    globalSecondaryIndexes: [
      { indexName: 'byPolicy', partitionKey: { name: 'policyId', type: 'S' }, sortKey: { name: 'at', type: 'S' } },
      { indexName: 'byDay', partitionKey: { name: 'day', type: 'S' }, sortKey: { name: 'at', type: 'S' } },
    ],
    timeToLiveAttribute: 'expiresAt',
  },
};

/** Audit records expire after this many days unless configured otherwise. */
export const defaultAuditRetentionDays = 400;
