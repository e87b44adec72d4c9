// Recorded container specs in the Docker target's plug-in state, in the state table (real dynalite):
// the environment is sealed. KMS has
// no local server here, so it is aws-sdk-client-mock standing in for GenerateDataKey / Decrypt,
// answering as KMS does (a data key and its wrapped form; Decrypt only under the same context).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localClient, storesFromEnvironment } from '../../shared/state/client.ts';
import { KmsDataKeys, LocalDataKeys } from '../../shared/state/sealing.ts';
import { DynamoPluginStateStore } from '../../shared/state/plugin-state.ts';
import type { DataKeys } from '../../shared/state/sealing.ts';
import { stateSpecStore, type RecordedSpec, type SpecStore } from '../../shared/plugins/targets/docker/spec-store.ts';
import { startTestStores, type TestStores } from './setup.ts';

const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const secretValue = 'hunter2-do-not-store';

let db: TestStores;
const dir = mkdtempSync(join(tmpdir(), 'spec-keys-'));
beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A spec as the Docker target records it, with a secret in its environment (unique per test). */
function recordedSpec(name: string): RecordedSpec {
  return {
    containerId: `id-${name}`,
    recordedAt: '2026-12-01T03:00:00.000Z',
    spec: {
      name,
      imageId: 'sha256:abc',
      body: { Image: 'busybox', Env: [`DB_PASSWORD=${secretValue}`, 'MODE=prod'], Labels: { 'autoscaler.service': 'web' }, HostConfig: { Memory: 1 } },
      extraNetworks: [],
    },
  };
}

/** The Docker target's spec store over the state table, as an evaluation builds it (namespace `docker`). */
const specStore = (keys: DataKeys): SpecStore => stateSpecStore(new DynamoPluginStateStore(db.doc, db.names.state, keys).namespace('docker'));

const itemKey = (service: string, name: string) => ({ pk: 'plugin#docker', sk: `specs/${service}/${name}` });
const rawItem = async (service: string, name: string) => (await db.doc.send(new GetCommand({ TableName: db.names.state, Key: itemKey(service, name) }))).Item!;
/** The sealed environment inside the stored value. */
const sealedEnvOf = (item: Record<string, unknown>) => (JSON.parse(String(item.value)) as { env?: unknown }).env;

describe('recorded container environments sealed with the KMS key (aws-sdk-client-mock for KMS, real dynalite)', () => {
  const kms = mockClient(KMSClient);
  /** The "KMS" side: wrapped blob → [data key, encryption context]. */
  let issued: Map<string, [Buffer, string]>;

  beforeEach(() => {
    kms.reset();
    issued = new Map();
    kms.on(GenerateDataKeyCommand).callsFake(async (input: { KeyId: string; EncryptionContext: Record<string, string> }) => {
      const plaintext = randomBytes(32);
      const wrapped = randomBytes(48);
      issued.set(wrapped.toString('hex'), [plaintext, JSON.stringify(input.EncryptionContext)]);
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(wrapped) };
    });
    kms.on(DecryptCommand).callsFake(async (input: { CiphertextBlob: Uint8Array; EncryptionContext: Record<string, string> }) => {
      const found = issued.get(Buffer.from(input.CiphertextBlob).toString('hex'));
      // KMS refuses a blob under any other encryption context.
      if (!found || found[1] !== JSON.stringify(input.EncryptionContext)) throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
      return { KeyId: keyArn, Plaintext: new Uint8Array(found[0]) };
    });
  });

  it('a spec recorded by the previous release (its own item, environment in plain text) is read, stored again sealed, and its plain item deleted', async () => {
    // Prepare: the item as the previous release wrote it (pk specs#<target>, sk container#<name>).
    const service = 'docker/local/upgraded-web';
    const recorded = recordedSpec('upgraded-1');
    const legacyKey = { pk: `specs#${service}`, sk: 'container#upgraded-1' };
    await db.doc.send(new PutCommand({ TableName: db.names.state, Item: { ...legacyKey, recorded: JSON.stringify(recorded) } }));
    const store = specStore(new KmsDataKeys(keyArn, new KMSClient({ region: 'us-east-1' })));
    // Act
    const listed = await store.list(service);
    // Assess: the same spec, environment included; the old item gone; the new one sealed.
    expect(listed.get('upgraded-1')).toEqual(recorded);
    expect((await db.doc.send(new GetCommand({ TableName: db.names.state, Key: legacyKey }))).Item).toBeUndefined();
    const item = await rawItem(service, 'upgraded-1');
    expect(JSON.stringify(item)).not.toContain(secretValue);
    expect(sealedEnvOf(item)).toBeDefined();
    expect((await store.list(service)).get('upgraded-1')).toEqual(recorded);
  });

  it('defect 11: the environment never reaches the plain item; it reads back exactly, and KMS is asked only for data keys', async () => {
    // Prepare
    const service = 'docker/local/sealed-web';
    const recorded = recordedSpec('sealed-1');
    const store = specStore(new KmsDataKeys(keyArn, new KMSClient({ region: 'us-east-1' })));

    // Act
    await store.put(service, recorded);
    const item = await rawItem(service, 'sealed-1');
    const readBack = await specStore(new KmsDataKeys(keyArn, new KMSClient({ region: 'us-east-1' }))).list(service);

    // Assess: no value in the item; the same spec back, key order included (the target compares JSON text).
    expect(JSON.stringify(item)).not.toContain(secretValue);
    expect(JSON.stringify(item)).not.toContain('MODE=prod');
    expect(sealedEnvOf(item)).toMatchObject({ v: 1, keyId: keyArn });
    expect(JSON.stringify(readBack.get('sealed-1'))).toBe(JSON.stringify(recorded));
    const generated = kms.commandCalls(GenerateDataKeyCommand).map((call) => call.args[0].input);
    expect(generated).toEqual([{ KeyId: keyArn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'autoscaler/container-env', service, container: 'sealed-1', namespace: 'docker' } }]);
    expect(kms.commandCalls(DecryptCommand).map((call) => call.args[0].input.KeyId)).toEqual([keyArn]);
  });

  it('a sealed environment copied onto another container\'s item does not open, and the error names the container', async () => {
    // Prepare
    const service = 'docker/local/sealed-copy';
    const store = specStore(new KmsDataKeys(keyArn, new KMSClient({ region: 'us-east-1' })));
    await store.put(service, recordedSpec('copy-from'));
    const stolen = sealedEnvOf(await rawItem(service, 'copy-from'));
    await store.put(service, recordedSpec('copy-to'));
    const target = await rawItem(service, 'copy-to');
    await db.doc.send(new PutCommand({ TableName: db.names.state, Item: { ...target, value: JSON.stringify({ ...JSON.parse(String(target.value)), env: stolen }) } }));

    // Act
    const error = await store.list(service).then(() => undefined, (err: Error) => err);

    // Assess
    expect(error?.message).toMatch(/^recorded spec of container "copy-(from|to)" \(docker\/local\/sealed-copy\): its environment cannot be decrypted: /);
    expect(error?.message).toContain('copy-to');
  });
});

describe('recorded container specs: namespaces, local keys, no key configured (real dynalite)', () => {
  it('an environment sealed in the docker namespace does not open when its value is copied into another plug-in\'s namespace', async () => {
    // Prepare
    const service = 'docker/local/other-namespace';
    const keys = LocalDataKeys.ephemeral();
    await specStore(keys).put(service, recordedSpec('ns-1'));
    const item = await rawItem(service, 'ns-1');
    await db.doc.send(new PutCommand({ TableName: db.names.state, Item: { ...item, pk: 'plugin#thief' } }));

    // Act
    const error = await stateSpecStore(new DynamoPluginStateStore(db.doc, db.names.state, keys).namespace('thief'))
      .list(service)
      .then(() => 'opened', (err: Error) => err.message);

    // Assess
    expect(error).toMatch(/^recorded spec of container "ns-1" \(docker\/local\/other-namespace\): its environment cannot be decrypted: /);
  });

  it('a local key file (autoscaler local) is created owner-only and opens what another process sealed with it', async () => {
    // Prepare
    const service = 'docker/local/local-key';
    const path = join(dir, 'nested', 'spec-sealing.key');
    const writer = specStore(await LocalDataKeys.fromFile(path));

    // Act
    await writer.put(service, recordedSpec('local-1'));
    const reader = specStore(await LocalDataKeys.fromFile(path));
    const read = await reader.list(service);
    const otherKey = await specStore(LocalDataKeys.ephemeral()).list(service).then(() => 'opened', (err: Error) => err.message);

    // Assess
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(await rawItem(service, 'local-1'))).not.toContain(secretValue);
    expect(read.get('local-1')).toEqual(recordedSpec('local-1'));
    expect(otherKey).toMatch(/container "local-1".*cannot be decrypted/);
  });

  it('without SPEC_KMS_KEY_ID a spec with an environment is refused (named), never stored plain; one without is stored', async () => {
    // Prepare
    const tables = { POLICIES_TABLE: db.names.policies, STATE_TABLE: db.names.state, AUDIT_TABLE: db.names.audit };
    const client = localClient(db.endpoint);
    const unconfigured = stateSpecStore(storesFromEnvironment(tables, client).pluginState.namespace('docker'));
    const service = 'docker/local/no-key';
    const withoutEnvironment: RecordedSpec = { ...recordedSpec('bare-1'), spec: { ...recordedSpec('bare-1').spec, body: { Image: 'busybox' } } };

    // Act
    const refused = await unconfigured.put(service, recordedSpec('secret-1')).then(() => 'stored', (err: Error) => err.message);
    await unconfigured.put(service, withoutEnvironment);
    const read = await unconfigured.list(service);
    const badKeyId = (() => {
      try {
        storesFromEnvironment({ ...tables, SPEC_KMS_KEY_ID: 'key id with spaces' }, client);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    client.destroy();

    // Assess
    expect(refused).toMatch(/^recorded spec of container "secret-1" \(docker\/local\/no-key\): its environment cannot be encrypted, so it is not stored: .*SPEC_KMS_KEY_ID/);
    expect([...read.keys()]).toEqual(['bare-1']);
    expect(badKeyId).toBe('SPEC_KMS_KEY_ID: "key id with spaces" is not a KMS key id, ARN or alias (1-2048 of A-Z a-z 0-9 : / _ . -)');
  });
});
