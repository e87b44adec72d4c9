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
        const legacy = legacySpecKey(namespace, key);
        if (legacy) await doc.send(new DeleteCommand({ TableName: table, Key: legacy }));
      },
      async delete(key) {
        await doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk: checkedKey(namespace, key) } }));
        const legacy = legacySpecKey(namespace, key);
        if (legacy) await doc.send(new DeleteCommand({ TableName: table, Key: legacy }));
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
        for (const [key, value] of await legacySpecs(doc, table, namespace, prefix)) if (!values.has(key)) values.set(key, value);
        return values;
      },
    };
  }
}

// Before plug-in state, the Docker target's recorded specs had their own items: pk
// `specs#<target key>`, sk `container#<name>`, `recorded` the RecordedSpec as JSON, its environment
// in plain text. They are listed with the `docker` namespace's specs (as `{ recorded }`, which the
// Docker target seals and stores again at once), and an item is deleted when its spec is stored
// under the new key, so no plain environment outlives the upgrade.
const legacySpecPrefix = /^specs\/(.+)\/$/;

function legacySpecKey(namespace: string, key: string): { pk: string; sk: string } | undefined {
  if (namespace !== 'docker') return undefined;
  const match = /^specs\/(.+)\/([^/]+)$/.exec(key);
  return match ? { pk: `specs#${match[1]}`, sk: `container#${match[2]}` } : undefined;
}

async function legacySpecs(doc: DynamoDBDocumentClient, table: string, namespace: string, prefix: string): Promise<Map<string, unknown>> {
  const found = new Map<string, unknown>();
  const service = namespace === 'docker' ? legacySpecPrefix.exec(prefix)?.[1] : undefined;
  if (service === undefined) return found;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({ TableName: table, ConsistentRead: true, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `specs#${service}` }, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const recorded = JSON.parse(String(item.recorded)) as { spec?: { name?: unknown } };
      if (typeof recorded.spec?.name === 'string') found.set(`${prefix}${recorded.spec.name}`, { recorded });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found;
}

