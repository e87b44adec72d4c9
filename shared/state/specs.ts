/**
 * Recorded container specs (for `availability.recreateRemoved`) in the state table, so a removed
 * original can be recreated by any later evaluation, in any Lambda instance.
 * Layout: pk `specs#<target key>`, sk `container#<name>`, the record as a JSON string (specs can
 * hold nested maps DynamoDB would otherwise reshape). The table is encrypted at rest.
 */
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RecordedSpec, SpecStore } from '../plugins/targets/docker/spec-store.ts';

const partition = (serviceKey: string) => `specs#${serviceKey}`;
const sortKey = (name: string) => `container#${name}`;

export class DynamoSpecStore implements SpecStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, table: string) {
    this.#doc = doc;
    this.#table = table;
  }

  async list(serviceKey: string): Promise<ReadonlyMap<string, RecordedSpec>> {
    const specs = new Map<string, RecordedSpec>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': partition(serviceKey) },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const recorded = JSON.parse(String(item.recorded)) as RecordedSpec;
        specs.set(recorded.spec.name, recorded);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return specs;
  }

  async put(serviceKey: string, recorded: RecordedSpec): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: partition(serviceKey), sk: sortKey(recorded.spec.name), recorded: JSON.stringify(recorded) },
      }),
    );
  }

  async delete(serviceKey: string, name: string): Promise<void> {
    await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: { pk: partition(serviceKey), sk: sortKey(name) } }));
  }
}
