/**
 * Leases, pending intents, behavior history and trigger markers (the state table; layout in tables.ts).
 *
 * - Lease: one item per target; taken with a conditional write that succeeds when there is no lease
 *   or it has expired. Each taker uses a unique owner string, so two evaluations in one process never
 *   share a lease. Released by its owner only.
 * - Intent: written on the lease item before acting and cleared after the audit record is written. An
 *   intent found when taking a lease means the last holder died between acting and auditing.
 * - Trigger marker: a conditional put per (trigger id, target): the first delivery that acts wins.
 * - History: one item per policy with a version; a writer that does not hold the lease only writes
 *   if nobody else wrote since it read.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditRecord } from '../audit/record.ts';
import { emptyHistory, type BehaviorHistory } from '../engine/types.ts';

const day = 86_400;
const leaseKey = (target: string) => ({ pk: `target#${target}`, sk: 'lease' });
const historyKey = (policyId: string) => ({ pk: `history#${policyId}`, sk: 'behavior' });
const triggerKey = (triggerId: string, target: string) => ({ pk: `trigger#${triggerId}`, sk: `target#${target}` });

/** What an evaluation is about to do to a target, kept with the lease until the audit record is written. */
export interface Intent {
  readonly activityId: string;
  readonly policyId: string;
  readonly policyVersion: number;
  readonly target: string;
  readonly trigger: Record<string, unknown>;
  readonly action: 'scaleOut' | 'scaleIn';
  readonly currentReplicas: number;
  readonly rawDesired: number | null;
  readonly desiredReplicas: number;
  readonly reason?: string;
  readonly startedAt: string;
  readonly owner: string;
  /** The full audit record as planned before acting (its status says what it would be if all went well). */
  readonly record?: AuditRecord;
  /** The final record, kept here when storing it in the audit table failed. */
  readonly completed?: AuditRecord;
}

export type LeaseResult =
  | { readonly acquired: true; /** Left behind by a holder that died while acting. */ readonly staleIntent?: Intent }
  | { readonly acquired: false; readonly holder: string | undefined; readonly until: number | undefined };

export interface StoredHistory {
  readonly history: BehaviorHistory;
  /** 0 when there is none yet. */
  readonly version: number;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

export class StateStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly tableName: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.tableName = tableName;
  }

  /** Takes the target's lease until `now + durationMs` if it is free or expired. */
  async acquireLease(target: string, owner: string, durationMs: number, now: number): Promise<LeaseResult> {
    try {
      const result = await this.#doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(target),
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :until, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':until': now + durationMs, ':now': now, ':expires': Math.ceil(now / 1000) + 7 * day },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const intent = result.Attributes?.intent as Intent | undefined;
      return intent ? { acquired: true, staleIntent: intent } : { acquired: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const held = await this.#doc.send(new GetCommand({ TableName: this.tableName, Key: leaseKey(target), ConsistentRead: true }));
      return { acquired: false, holder: held.Item?.owner as string | undefined, until: held.Item?.leaseUntil as number | undefined };
    }
  }

  /** Records what is about to be done; fails if the lease is no longer ours. */
  async writeIntent(target: string, owner: string, intent: Intent): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: leaseKey(target),
        UpdateExpression: 'SET intent = :intent',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':intent': intent, ':owner': owner },
      }),
    );
  }

  /** Clears a dead holder's intent once its outcome is in the audit (we hold the lease now). */
  async clearIntent(target: string, owner: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: leaseKey(target),
        UpdateExpression: 'REMOVE intent',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    );
  }

  /** Extends the lease to `until` if it is still ours; false when it is not (someone else holds it now). */
  async renewLease(target: string, owner: string, until: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(target),
          UpdateExpression: 'SET leaseUntil = :until',
          // A released lease (leaseUntil 0) is not revived by a renewal that was already on its way.
          ConditionExpression: '#owner = :owner AND leaseUntil > :zero',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':until': until, ':zero': 0 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Frees the lease; drops the intent unless `keepIntent` (its record is not stored yet, so the next
   * holder must write it). A no-op when the lease has meanwhile passed to someone else.
   */
  async releaseLease(target: string, owner: string, keepIntent = false): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: leaseKey(target),
          UpdateExpression: keepIntent ? 'SET leaseUntil = :zero' : 'SET leaseUntil = :zero REMOVE intent',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** The lease item as stored (for tests and `autoscaler local` status). */
  async readLease(target: string): Promise<Record<string, unknown> | undefined> {
    const result = await this.#doc.send(new GetCommand({ TableName: this.tableName, Key: leaseKey(target), ConsistentRead: true }));
    return result.Item;
  }

  /** True for the first caller per (trigger, target); false when that trigger already acted on that target. */
  async markTrigger(triggerId: string, target: string, details: { owner: string; activityId: string }, now: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...triggerKey(triggerId, target), ...details, at: new Date(now).toISOString(), expiresAt: Math.ceil(now / 1000) + 7 * day },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async readHistory(policyId: string): Promise<StoredHistory> {
    const result = await this.#doc.send(new GetCommand({ TableName: this.tableName, Key: historyKey(policyId), ConsistentRead: true }));
    if (!result.Item) return { history: emptyHistory, version: 0 };
    return { history: result.Item.history as BehaviorHistory, version: Number(result.Item.version) };
  }

  /**
   * Saves the history. With `expectedVersion` the write only happens if nobody wrote since
   * (returns false then); without it (the lease holder) it always does. It expires (TTL)
   * `retentionSeconds` after this write: 2 days, or longer for what a rule remembers longer.
   */
  async saveHistory(policyId: string, history: BehaviorHistory, now: number, expectedVersion?: number, retentionSeconds = 2 * day): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: historyKey(policyId),
          UpdateExpression: 'SET history = :history, expiresAt = :expires ADD version :one',
          ...(expectedVersion === undefined
            ? {}
            : { ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :expected' }),
          ExpressionAttributeValues: {
            ':history': history,
            ':expires': Math.ceil(now / 1000) + retentionSeconds,
            ':one': 1,
            ...(expectedVersion ? { ':expected': expectedVersion } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
