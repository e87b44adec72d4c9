/**
 * Plug-in state (shared/plugins/types.ts `PluginState`) in the state table, so what a plug-in
 * records — the Docker target's container specs, the scrape source's previous histogram — is seen
 * by every later evaluation, in any Lambda instance (and by `autoscaler local` across restarts).
 * Layout: pk `plugin#<namespace>`, sk `<key>`, the value as a JSON string (`value`: nested maps
 * DynamoDB would otherwise reshape). No `expiresAt`: state lives until its plug-in deletes it.
 * One partition per plug-in: a plug-in lists by key prefix with one Query; its writes are rare
 * (the Docker target writes a spec only when a container changes).
 * Secrets are sealed by the plug-in through `secrets` before they reach a value (sealing.ts: a data
 * key per value, wrapped by the stack's KMS key, bound to the namespace and the plug-in's context).
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PluginState, PluginStateStore } from '../plugins/types.ts';
import { namespaceSecrets, type DataKeys } from './sealing.ts';

const partition = (namespace: string) => `plugin#${namespace}`;
/** DynamoDB's limit on a sort key. */
const maxKeyBytes = 1024;

function checkedKey(namespace: string, key: string): string {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes === 0 || bytes > maxKeyBytes) throw new Error(`plug-in state of "${namespace}": key "${key.slice(0, 80)}" is ${bytes} bytes; allowed: 1-${maxKeyBytes} bytes`);
  return key;
}

export class DynamoPluginStateStore implements PluginStateStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #keys: DataKeys;
  readonly #namespaces = new Map<string, PluginState>();

  constructor(doc: DynamoDBDocumentClient, table: string, keys: DataKeys) {
    this.#doc = doc;
    this.#table = table;
    this.#keys = keys;
  }

  namespace(name: string): PluginState {
    let state = this.#namespaces.get(name);
    if (!state) this.#namespaces.set(name, (state = this.#open(name)));
    return state;
  }

  #open(namespace: string): PluginState {
    const doc = this.#doc;
    const table = this.#table;
    const pk = partition(namespace);
    return {
      secrets: namespaceSecrets(this.#keys, namespace),
      async get(key) {
        const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { pk, sk: checkedKey(namespace, key) }, ConsistentRead: true }));
        return Item ? (JSON.parse(String(Item.value)) as unknown) : undefined;
      },
      async set(key, value) {
        await doc.send(new PutCommand({ TableName: table, Item: { pk, sk: checkedKey(namespace, key), value: JSON.stringify(value) } }));
      },
      async delete(key) {
        await doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk: checkedKey(namespace, key) } }));
      },
      async list(prefix) {
        const values = new Map<string, unknown>();
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await doc.send(
            new QueryCommand({
              TableName: table,
              ConsistentRead: true,
              ...(prefix === ''
                ? { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }
                : { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': pk, ':prefix': checkedKey(namespace, prefix) } }),
              ExclusiveStartKey: startKey,
            }),
          );
          for (const item of page.Items ?? []) values.set(String(item.sk), JSON.parse(String(item.value)) as unknown);
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return values;
      },
    };
  }
}
