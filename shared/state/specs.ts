/**
 * Recorded container specs (for `availability.recreateRemoved`) in the state table, so a removed
 * original can be recreated by any later evaluation, in any Lambda instance.
 * Layout: pk `specs#<target key>`, sk `container#<name>`, the record as a JSON string (specs can
 * hold nested maps DynamoDB would otherwise reshape) without its environment, and the environment
 * (`Env`, often passwords and tokens) sealed in `env` (shared/state/sealing.ts: a data key per
 * record, wrapped by the stack's KMS key; bound to the service and container). The table is also
 * encrypted at rest, but that does not keep the values from anyone who can read the item.
 * Records written before sealing (environment inside `recorded`) are still read as they are; the
 * next change to that container rewrites them sealed.
 */
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RecordedSpec, SpecStore } from '../plugins/targets/docker/spec-store.ts';
import { open, seal, type DataKeys, type EncryptionContext, type Sealed } from './sealing.ts';

const partition = (serviceKey: string) => `specs#${serviceKey}`;
const sortKey = (name: string) => `container#${name}`;
const envContext = (serviceKey: string, name: string): EncryptionContext => ({ purpose: 'autoscaler/container-env', service: serviceKey, container: name });
/** Opened environments kept per warm container, so a list does not call KMS Decrypt for every record every time. */
const maxOpenedCached = 1_000;

export class DynamoSpecStore implements SpecStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #keys: DataKeys;
  readonly #opened = new Map<string, Promise<string>>();

  constructor(doc: DynamoDBDocumentClient, table: string, keys: DataKeys) {
    this.#doc = doc;
    this.#table = table;
    this.#keys = keys;
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
        const sealed = item.env as Sealed | undefined;
        specs.set(recorded.spec.name, sealed ? await this.#withEnvironment(serviceKey, recorded, sealed) : recorded);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return specs;
  }

  async #withEnvironment(serviceKey: string, recorded: RecordedSpec, sealed: Sealed): Promise<RecordedSpec> {
    const name = recorded.spec.name;
    const cacheKey = `${serviceKey}\u0000${name}\u0000${sealed.key}\u0000${sealed.iv}`;
    let env = this.#opened.get(cacheKey);
    if (!env) {
      env = open(this.#keys, sealed, envContext(serviceKey, name));
      this.#opened.set(cacheKey, env);
      env.catch(() => this.#opened.delete(cacheKey));
      if (this.#opened.size > maxOpenedCached) this.#opened.delete(this.#opened.keys().next().value!);
    }
    let values: string;
    try {
      values = await env;
    } catch (err) {
      throw new Error(`recorded spec of container "${name}" (${serviceKey}): its environment cannot be decrypted: ${(err as Error).message}`, { cause: err });
    }
    return { ...recorded, spec: { ...recorded.spec, body: { ...recorded.spec.body, Env: JSON.parse(values) as string[] } } };
  }

  async put(serviceKey: string, recorded: RecordedSpec): Promise<void> {
    const env = recorded.spec.body.Env;
    const name = recorded.spec.name;
    // Env stays as a key (null) so reading puts the values back in the same place: the Docker
    // target compares recorded specs as JSON text, and a moved key would look like a change.
    const withoutEnvironment = env && env.length > 0 ? { ...recorded, spec: { ...recorded.spec, body: { ...recorded.spec.body, Env: null } } } : recorded;
    let sealed: Sealed | undefined;
    if (env && env.length > 0) {
      try {
        sealed = await seal(this.#keys, JSON.stringify(env), envContext(serviceKey, name));
      } catch (err) {
        throw new Error(`recorded spec of container "${name}" (${serviceKey}): its environment cannot be encrypted, so it is not stored: ${(err as Error).message}`, { cause: err });
      }
    }
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { pk: partition(serviceKey), sk: sortKey(name), recorded: JSON.stringify(withoutEnvironment), ...(sealed ? { env: sealed } : {}) },
      }),
    );
  }

  async delete(serviceKey: string, name: string): Promise<void> {
    await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: { pk: partition(serviceKey), sk: sortKey(name) } }));
  }
}
