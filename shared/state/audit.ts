/**
 * The audit store. Keys (tables.ts) answer the three questions without a Scan:
 * "this target, newest first, since T" (table keys), "this policy since T" (byPolicy) and
 * "everything since T" (byDay, one partition per UTC day). Every record carries `expiresAt`
 * (epoch seconds) for DynamoDB TTL. Queries page through DynamoDB's 1 MB pages transparently.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { AuditRecord } from '../audit/record.ts';

export interface AuditQuery {
  readonly target?: string;
  readonly policyId?: string;
  /** Inclusive lower bound, epoch ms. Required when neither target nor policy is given. */
  readonly from?: number;
  /** Inclusive upper bound, epoch ms. Default: no bound. */
  readonly to?: number;
  readonly status?: string;
  readonly action?: string;
  /** Stop after this many records. */
  readonly limit?: number;
  /** Default 'newest' (newest first). */
  readonly order?: 'newest' | 'oldest';
}

/** An audit record as read back: the record plus its sort key (`<startedAt>#<activityId>`). */
export type StoredAuditRecord = AuditRecord & { readonly at: string };

const dayMs = 86_400_000;
const tableOnly = new Set(['day', 'expiresAt']);

export function auditSortKey(record: Pick<AuditRecord, 'startedAt' | 'activityId'>): string {
  return `${record.startedAt}#${record.activityId}`;
}

export class AuditStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly retentionDays: number;

  constructor(doc: DynamoDBDocumentClient, tableName: string, retentionDays: number) {
    this.#doc = doc;
    this.tableName = tableName;
    this.retentionDays = retentionDays;
  }

  /**
   * Writes the record once: a second write of the same activity (a recovery racing the original)
   * is dropped. Returns false when the record was already there.
   */
  async put(record: AuditRecord): Promise<boolean> {
    const at = auditSortKey(record);
    const started = Date.parse(record.startedAt);
    const item = {
      ...record,
      at,
      day: record.startedAt.slice(0, 10),
      expiresAt: Math.ceil(started / 1000) + this.retentionDays * 86_400,
    };
    try {
      await this.#doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#at)', ExpressionAttributeNames: { '#at': 'at' } }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Records matching `query`, in order, across as many DynamoDB pages as it takes. */
  async *query(query: AuditQuery): AsyncGenerator<StoredAuditRecord> {
    const newest = (query.order ?? 'newest') === 'newest';
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const lower = query.from !== undefined ? new Date(query.from).toISOString() : undefined;
    // '~' sorts after every character of an activity id, so `to` includes records started at `to`.
    const upper = query.to !== undefined ? `${new Date(query.to).toISOString()}~` : undefined;
    const partitions: Array<Pick<QueryCommandInput, 'IndexName' | 'KeyConditionExpression'> & { values: Record<string, unknown> }> = [];
    if (query.target !== undefined) {
      partitions.push({ KeyConditionExpression: '#pk = :pk', values: { ':pk': query.target } });
    } else if (query.policyId !== undefined) {
      partitions.push({ IndexName: 'byPolicy', KeyConditionExpression: '#pk = :pk', values: { ':pk': query.policyId } });
    } else {
      if (lower === undefined) throw new Error('an audit query without a target or policy needs a start time');
      const first = Date.parse(lower.slice(0, 10));
      const last = query.to ?? Date.now();
      const days: string[] = [];
      for (let t = first; t <= last; t += dayMs) days.push(new Date(t).toISOString().slice(0, 10));
      if (newest) days.reverse();
      for (const d of days) partitions.push({ IndexName: 'byDay', KeyConditionExpression: '#pk = :pk', values: { ':pk': d } });
    }
    const pkName = query.target !== undefined ? 'target' : query.policyId !== undefined ? 'policyId' : 'day';
    const filters: string[] = [];
    const names: Record<string, string> = { '#pk': pkName };
    const values: Record<string, unknown> = {};
    if (query.target !== undefined && query.policyId !== undefined) {
      filters.push('policyId = :policy');
      values[':policy'] = query.policyId;
    }
    if (query.status !== undefined) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = query.status;
    }
    if (query.action !== undefined) {
      filters.push('#action = :action');
      names['#action'] = 'action';
      values[':action'] = query.action;
    }
    let range = '';
    if (lower !== undefined && upper !== undefined) {
      range = ' AND #at BETWEEN :lower AND :upper';
      values[':lower'] = lower;
      values[':upper'] = upper;
    } else if (lower !== undefined) {
      range = ' AND #at >= :lower';
      values[':lower'] = lower;
    } else if (upper !== undefined) {
      range = ' AND #at <= :upper';
      values[':upper'] = upper;
    }
    if (range) names['#at'] = 'at';

    for (const partition of partitions) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.#doc.send(
          new QueryCommand({
            TableName: this.tableName,
            ...(partition.IndexName ? { IndexName: partition.IndexName } : {}),
            KeyConditionExpression: `${partition.KeyConditionExpression}${range}`,
            ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ...partition.values },
            ScanIndexForward: !newest,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) {
          yield fromItem(item);
          if (--remaining <= 0) return;
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
  }

  /** All of `query` as an array (use `query` to stream). */
  async list(query: AuditQuery): Promise<StoredAuditRecord[]> {
    const records: StoredAuditRecord[] = [];
    for await (const record of this.query(query)) records.push(record);
    return records;
  }
}

function fromItem(item: Record<string, unknown>): StoredAuditRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) if (!tableOnly.has(key)) record[key] = value;
  return record as unknown as StoredAuditRecord;
}
