/**
 * The policy store: one item per policy with a version for optimistic concurrency, plus one
 * binding item per (alarm, policy) so an alarm finds its policies without a scan, plus a compact
 * index of the enabled policies (partition `index`: id, version, target key, alarms, CloudWatch
 * query count; no policy body) that the fan-out dispatcher reads every tick.
 * Layout: see shared/state/tables.ts.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Policy, Target, targetKey } from '../policy/schema.ts';
import { selectedId, type InvalidStoredPolicy, type StoredPolicy } from '../evaluate/types.ts';

const listPartition = 'policies';
const policySortKey = (id: string) => `policy#${id}`;
const alarmPartition = (alarmName: string) => `alarm#${alarmName}`;
/** One small item per ENABLED policy (a sparse index: disabled policies have none). */
const indexPartition = 'index';
/** Present once the index holds every enabled policy (written by the first rebuild). */
const indexCompleteKey = { pk: indexPartition, sk: 'complete' };
/** Every version ever written of a policy, kept for `policy get --version` and to see who changed what. */
const versionsPartition = (id: string) => `versions#${id}`;
const versionSortKey = (version: number) => `v#${String(version).padStart(9, '0')}`;

/** Someone else changed (or created, or deleted) the policy since it was read: nothing was written. */
export class StalePolicyError extends Error {
  readonly policyId: string;
  readonly expectedVersion: number;
  constructor(policyId: string, expectedVersion: number) {
    super(
      expectedVersion === 0
        ? `policy "${policyId}" was created by someone else since it was read; nothing written (read it again and re-apply)`
        : `policy "${policyId}" was changed or deleted by someone else since version ${expectedVersion} was read; nothing written (read it again and re-apply)`,
    );
    this.name = 'StalePolicyError';
    this.policyId = policyId;
    this.expectedVersion = expectedVersion;
  }
}

export interface PolicyRecord extends StoredPolicy {
  readonly updatedAt: string;
  /** Fields a newer writer stored that this version does not know: ignored on read, reported here. */
  readonly ignoredFields?: readonly string[];
}

/** A stored policy that no longer validates: kept readable so the CLI can show, overwrite or delete it. */
export interface InvalidPolicyRecord extends InvalidStoredPolicy {
  readonly updatedAt: string;
  /** The stored document as written. */
  readonly document: unknown;
  /** Its alarms as far as they can be read (for bindings). */
  readonly alarms: readonly string[];
}

export type PolicyEntry = PolicyRecord | InvalidPolicyRecord;

export function isInvalidEntry(entry: PolicyEntry): entry is InvalidPolicyRecord {
  return 'problems' in entry;
}

/** One enabled policy as the compact index lists it: what the dispatcher needs to shard, no body. */
export interface IndexEntry {
  readonly id: string;
  readonly version: number;
  /** `targetKey(policy.target)`. */
  readonly target: string;
  readonly alarms: readonly string[];
  /** Metric queries the policy adds to a GetMetricData batch (its cloudwatch and elasticache metrics). */
  readonly cloudWatchQueries: number;
}

export function indexEntryOf(policy: Policy, version: number): IndexEntry {
  return {
    id: policy.id,
    version,
    target: targetKey(policy.target),
    alarms: [...policy.alarms],
    cloudWatchQueries: policy.metrics.filter((m) => m.source === 'cloudwatch' || m.source === 'elasticache').length,
  };
}

interface PolicyItem {
  pk: string;
  sk: string;
  id: string;
  version: number;
  enabled: boolean;
  document: string;
  updatedAt: string;
}

export class PolicyStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly tableName: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.tableName = tableName;
  }

  /** Every policy that validates, by id. Invalid ones are left out (see `entries`); this never throws for them. */
  async list(): Promise<PolicyRecord[]> {
    return (await this.entries()).filter((e): e is PolicyRecord => !isInvalidEntry(e));
  }

  /** Every stored policy, by id, valid or not (one Query over the policies partition, paged). */
  async entries(): Promise<PolicyEntry[]> {
    const items = await this.#queryAll('pk = :pk AND begins_with(sk, :prefix)', { ':pk': listPartition, ':prefix': 'policy#' });
    return items.map((item) => fromItem(item as unknown as PolicyItem));
  }

  /**
   * The compact index of enabled policies (one paged Query over small items). A table written
   * before the index existed is indexed once, from the full list, on the first call.
   */
  async listIndex(): Promise<IndexEntry[]> {
    const entries: IndexEntry[] = [];
    let complete = false;
    for (const item of await this.#queryAll('pk = :pk', { ':pk': indexPartition })) {
      if (item.sk === indexCompleteKey.sk) complete = true;
      else entries.push({ id: String(item.id), version: Number(item.version), target: String(item.target), alarms: (item.alarms as string[] | undefined) ?? [], cloudWatchQueries: Number(item.cloudWatchQueries ?? 0) });
    }
    if (complete) return entries.sort((a, b) => a.id.localeCompare(b.id));
    // Not indexed yet (policies written before the index existed): derive it from the full list,
    // without writing (the dispatcher may only read this table); `policy apply` completes it.
    return enabledIndexEntries(await this.entries());
  }

  /** Whether the index holds every enabled policy (see `rebuildIndex`). */
  async indexComplete(): Promise<boolean> {
    const found = await this.#doc.send(new GetCommand({ TableName: this.tableName, Key: indexCompleteKey, ConsistentRead: true }));
    return found.Item !== undefined;
  }

  /** Writes an index entry for every enabled policy, then marks the index complete. */
  async rebuildIndex(): Promise<IndexEntry[]> {
    const entries = enabledIndexEntries(await this.entries());
    for (const entry of entries) await this.#putIndexEntry(entry);
    await this.#doc.send(new PutCommand({ TableName: this.tableName, Item: { ...indexCompleteKey, at: new Date().toISOString() } }));
    return entries;
  }

  /** The current policies with these ids, valid or not (deleted ones are left out), by id. */
  async getMany(ids: readonly string[]): Promise<PolicyEntry[]> {
    return this.#getItems(ids);
  }

  /** The policy if it is stored and validates (see `entry` for one that may not). */
  async get(id: string): Promise<PolicyRecord | undefined> {
    const found = await this.entry(id);
    return found && !isInvalidEntry(found) ? found : undefined;
  }

  /** The stored policy, valid or not. */
  async entry(id: string): Promise<PolicyEntry | undefined> {
    const found = await this.#getItems([id]);
    return found[0];
  }

  /** One earlier (or the current) version of a policy, as it was written. */
  async getVersion(id: string, version: number): Promise<PolicyEntry | undefined> {
    const result = await this.#doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: versionsPartition(id), sk: versionSortKey(version) } }));
    return result.Item ? fromItem(result.Item as PolicyItem) : undefined;
  }

  /** Enabled, valid policies bound to the alarm. */
  async forAlarm(alarmName: string): Promise<PolicyRecord[]> {
    return (await this.forAlarmEntries(alarmName)).filter((e): e is PolicyRecord => !isInvalidEntry(e));
  }

  /** Enabled policies bound to the alarm, valid or not: one Query over its bindings, one BatchGet of the policies. */
  async forAlarmEntries(alarmName: string): Promise<PolicyEntry[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': alarmPartition(alarmName) },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) ids.push(String(item.policyId));
      start = page.LastEvaluatedKey;
    } while (start);
    // A binding may outlive its policy's alarm for a moment (bindings are added before and removed
    // after the policy write), so the policy itself has the last word.
    return (await this.#getItems(ids)).filter((r) => (isInvalidEntry(r) ? r.enabled && r.alarms.includes(alarmName) : r.policy.enabled && r.policy.alarms.includes(alarmName)));
  }

  /**
   * Writes `policy` if the stored version is still `expectedVersion` (0: must not exist yet).
   * Returns the new version (after a delete, creating again continues from the last version); throws StalePolicyError otherwise. Alarm bindings follow the policy.
   */
  async put(policy: Policy, expectedVersion: number, previousAlarms: readonly string[] = []): Promise<number> {
    const added = policy.alarms.filter((a) => !previousAlarms.includes(a));
    const removed = previousAlarms.filter((a) => !policy.alarms.includes(a));
    // A policy created again after a delete continues its numbering: versions stay unique per id,
    // so an audit record's policyVersion names one text, and a writer still holding a version
    // of the deleted policy cannot match the new one.
    const version = (expectedVersion === 0 ? await this.#latestVersion(policy.id) : expectedVersion) + 1;
    // Bindings first: an extra binding is harmless (forAlarm checks the policy), a missing one is not.
    // Each carries the version that wrote it, so a racing delete of an older version leaves it alone.
    for (const alarm of added) await this.#putBinding(alarm, policy.id, version);
    const item: PolicyItem = {
      pk: listPartition,
      sk: policySortKey(policy.id),
      id: policy.id,
      version,
      enabled: policy.enabled,
      document: JSON.stringify(policy),
      updatedAt: new Date().toISOString(),
    };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :expected', ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StalePolicyError(policy.id, expectedVersion);
      throw error;
    }
    await this.#doc.send(new PutCommand({ TableName: this.tableName, Item: { ...item, pk: versionsPartition(policy.id), sk: versionSortKey(version) } }));
    if (policy.enabled) await this.#putIndexEntry(indexEntryOf(policy, version));
    else await this.#deleteIndexEntry(policy.id);
    for (const alarm of removed) await this.#deleteBinding(alarm, policy.id, version);
    return version;
  }

  /** Deletes the policy if it is still at `expectedVersion` (any version when omitted); false when it did not exist. */
  async delete(id: string, expectedVersion?: number): Promise<boolean> {
    const current = await this.entry(id);
    if (!current) return false;
    if (expectedVersion !== undefined && current.version !== expectedVersion) throw new StalePolicyError(id, expectedVersion);
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: listPartition, sk: policySortKey(id) },
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': current.version },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StalePolicyError(id, current.version);
      throw error;
    }
    await this.#deleteIndexEntry(id);
    // Only bindings written by this version or an older one: a policy re-created meanwhile keeps its own.
    const alarms = isInvalidEntry(current) ? current.alarms : current.policy.alarms;
    for (const alarm of alarms) await this.#deleteBinding(alarm, id, current.version);
    return true;
  }

  async #putIndexEntry(entry: IndexEntry): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: indexPartition, sk: policySortKey(entry.id), ...entry } }));
  }

  async #deleteIndexEntry(id: string): Promise<void> {
    await this.#doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: indexPartition, sk: policySortKey(id) } }));
  }

  /** Every item of one key condition, following the pages (consistent reads). */
  async #queryAll(keyCondition: string, values: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: keyCondition, ExpressionAttributeValues: values, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The highest version ever written of the policy (0: never written). */
  async #latestVersion(id: string): Promise<number> {
    const page = await this.#doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': versionsPartition(id) },
        ProjectionExpression: 'version',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return Number(page.Items?.[0]?.version ?? 0);
  }

  async #putBinding(alarm: string, policyId: string, version: number): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: alarmPartition(alarm), sk: policySortKey(policyId), policyId, policyVersion: version } }));
  }

  /** Removes the binding unless a newer version of the policy wrote it. */
  async #deleteBinding(alarm: string, policyId: string, uptoVersion: number): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: alarmPartition(alarm), sk: policySortKey(policyId) },
          ConditionExpression: 'attribute_not_exists(policyVersion) OR policyVersion <= :version',
          ExpressionAttributeValues: { ':version': uptoVersion },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async #getItems(ids: readonly string[]): Promise<PolicyEntry[]> {
    const unique = [...new Set(ids)];
    const records: PolicyEntry[] = [];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Array<Record<string, unknown>> = unique.slice(i, i + 100).map((id) => ({ pk: listPartition, sk: policySortKey(id) }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        const page = await this.#doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of page.Responses?.[this.tableName] ?? []) records.push(fromItem(item as PolicyItem));
        keys = (page.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Array<Record<string, unknown>>;
        if (keys.length > 0) {
          if (attempt > 8) throw new Error(`policies table: ${keys.length} keys still unprocessed after retries`);
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        }
      }
    }
    return records.sort((a, b) => selectedId(a).localeCompare(selectedId(b)));
  }
}

/** Index entries of the enabled entries; an invalid one is listed too, so its shard audits it PolicyInvalid. */
function enabledIndexEntries(entries: readonly PolicyEntry[]): IndexEntry[] {
  return entries.flatMap((e) => {
    if (isInvalidEntry(e)) return e.enabled ? [{ id: e.id, version: e.version, target: e.target, alarms: [...e.alarms], cloudWatchQueries: 0 }] : [];
    return e.policy.enabled ? [indexEntryOf(e.policy, e.version)] : [];
  });
}


function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/**
 * Reading is lenient where that is safe: fields this version does not know (a newer writer's) are
 * dropped and reported in `ignoredFields`; anything else that fails validation makes the entry
 * invalid (with its messages) instead of failing the whole read. Writing (`put`) stays strict.
 */
function fromItem(item: PolicyItem): PolicyEntry {
  const version = Number(item.version);
  let document: unknown;
  try {
    document = JSON.parse(item.document);
  } catch (error) {
    return invalidEntry(item, undefined, [`document: not JSON (${(error as Error).message})`]);
  }
  let candidate = structuredClone(document);
  const ignoredFields: string[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const parsed = Policy.safeParse(candidate);
    if (parsed.success) return { policy: parsed.data, version, updatedAt: item.updatedAt, ...(ignoredFields.length > 0 ? { ignoredFields } : {}) };
    const unknown = parsed.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    if (unknown.length === 0 || unknown.length !== parsed.error.issues.length) {
      const problems = parsed.error.issues
        .filter((issue) => issue.code !== 'unrecognized_keys')
        .map((issue) => `${formatPath(issue.path) || '(policy)'}: ${issue.message}`);
      return invalidEntry(item, document, problems);
    }
    for (const issue of unknown) {
      const parent = valueAt(candidate, issue.path);
      for (const key of (issue as { keys: string[] }).keys) {
        if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[key];
        ignoredFields.push(formatPath([...issue.path, key]));
      }
    }
  }
  return invalidEntry(item, document, ['(policy): too many unknown fields']);
}

function invalidEntry(item: PolicyItem, document: unknown, problems: string[]): InvalidPolicyRecord {
  const raw = (document ?? {}) as { target?: unknown; alarms?: unknown; enabled?: unknown };
  const target = Target.safeParse(raw.target);
  return {
    id: item.id,
    version: Number(item.version),
    target: target.success ? targetKey(target.data) : `policy/${item.id}`,
    enabled: item.enabled !== false,
    problems: problems.length > 0 ? problems : ['(policy): does not validate'],
    updatedAt: item.updatedAt,
    document,
    alarms: Array.isArray(raw.alarms) ? raw.alarms.filter((a): a is string => typeof a === 'string') : [],
  };
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const key of path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** `['rule', 'steps', 2, 0]` → `rule.steps[2][0]` (as shared/policy/load.ts writes paths; not imported, to keep the YAML loader out of the function bundles). */
function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}
