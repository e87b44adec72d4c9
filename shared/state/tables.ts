/**
 * The three tables, defined once: the CDK stack (infra/) and the local/test setup
 * (dynalite, shared/state/create.ts) both create them from these designs.
 *
 * Item layouts (the stores in shared/state/ are the only code that reads or writes them):
 *
 * policies (pk, sk)
 *   pk "policies", sk "policy#<id>"        one item per policy: id, version, enabled, document (JSON), updatedAt.
 *                                          One partition, so `policy list` and the schedule tick are a Query, not a Scan.
 *   pk "versions#<id>", sk "v#<000000001>"  every version written (same attributes), for `policy get --version`.
 *   pk "alarm#<alarmName>", sk "policy#<id>"  one binding per (alarm, policy): an alarm finds its policies with one
 *                                          Query plus one BatchGet, however many policies exist.
 *
 * state (pk, sk); leases, history and markers expire through `expiresAt` (epoch seconds), plug-in state does not
 *   pk "target#<targetKey>", sk "lease"     the target's lease: owner, leaseUntil (epoch ms), and while acting the
 *                                          pending `intent` (what is about to be done), cleared after the audit.
 *   pk "history#<policyId>", sk "behavior"  the policy's behavior history (stabilization, rate limits), with a version.
 *   pk "trigger#<triggerId>", sk "target#<targetKey>"  marker: this trigger already acted on this target.
 *   pk "plugin#<namespace>", sk "<key>"   a plug-in's state (shared/state/plugin-state.ts): `value` as JSON, no expiry;
 *                                          e.g. the Docker target's recorded specs under "specs/<targetKey>/<container>",
 *                                          their environments sealed with the stack's KMS key.
 *
 * audit (target, at); `at` is `<startedAt ISO>#<activityId>` so it is unique and sorts by time.
 *   byPolicy (policyId, at): "this policy since T"; byDay (day "YYYY-MM-DD", at): everything since T, day by day.
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

/** The KMS key (id, ARN or alias) that seals recorded container environments in the state table; set by the stack. */
export const specKeyEnvironment = 'SPEC_KMS_KEY_ID';

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

/** Physical table names; locally and in tests the logical names themselves. */
export type TableNames = Readonly<Record<TableName, string>>;

export const localTableNames: TableNames = { policies: 'autoscaler-policies', state: 'autoscaler-state', audit: 'autoscaler-audit' };
