/**
 * Envelope encryption for values that must not sit in plain DynamoDB items (a recorded container's
 * environment often holds passwords and tokens).
 *
 * Each sealed value gets its own 256-bit data key: the value is encrypted locally with AES-256-GCM,
 * and only the data key, wrapped by a key encryption key, is stored beside it. In AWS the wrapping
 * key is the stack's KMS key (`GenerateDataKey` to seal, `Decrypt` to open; KMS never sees the
 * value). Locally a 32-byte key (a file under the local store's folder, or one per process) wraps
 * the data key the same way, so the stored format is the same everywhere.
 *
 * The encryption context names what the value belongs to (e.g. the service and container); it is
 * bound to both the wrapped key (KMS encryption context, or AES-GCM additional data) and the value,
 * so a sealed value copied to another item does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { lazyLibrary } from '../plugins/lazy.ts';

// KMS is needed only when a recorded spec is written or read: loaded then, not at every cold start.
const kmsLibrary = lazyLibrary('kmsClient', () => import('@aws-sdk/client-kms'));

export type EncryptionContext = Readonly<Record<string, string>>;

/** Makes and unwraps data keys. */
export interface DataKeys {
  /** Identifies the wrapping key in stored values (a KMS key id or ARN, or `local`). */
  readonly keyId: string;
  generate(context: EncryptionContext): Promise<{ readonly plaintext: Buffer; readonly wrapped: Buffer }>;
  unwrap(wrapped: Buffer, context: EncryptionContext): Promise<Buffer>;
}

/** What is stored: all binary parts base64. */
export interface Sealed {
  readonly v: 1;
  readonly keyId: string;
  /** The data key, wrapped. */
  readonly key: string;
  readonly iv: string;
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  readonly data: string;
}

const dataKeyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;

/** The context as AES-GCM additional data: sorted keys, so the same context always gives the same bytes. */
function additionalData(context: EncryptionContext): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function encrypt(key: Buffer, plaintext: Buffer, context: EncryptionContext): { iv: Buffer; data: Buffer } {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(additionalData(context));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, data };
}

function decrypt(key: Buffer, iv: Buffer, data: Buffer, context: EncryptionContext): Buffer {
  if (data.length < tagBytes) throw new Error('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(additionalData(context));
  decipher.setAuthTag(data.subarray(data.length - tagBytes));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - tagBytes)), decipher.final()]);
}

export async function seal(keys: DataKeys, plaintext: string, context: EncryptionContext): Promise<Sealed> {
  const { plaintext: dataKey, wrapped } = await keys.generate(context);
  try {
    const { iv, data } = encrypt(dataKey, Buffer.from(plaintext, 'utf8'), context);
    return { v: 1, keyId: keys.keyId, key: wrapped.toString('base64'), iv: iv.toString('base64'), data: data.toString('base64') };
  } finally {
    dataKey.fill(0);
  }
}

export async function open(keys: DataKeys, sealed: Sealed, context: EncryptionContext): Promise<string> {
  if (sealed.v !== 1) throw new Error(`sealed value version ${String(sealed.v)} is not supported (expected 1)`);
  const dataKey = await keys.unwrap(Buffer.from(sealed.key, 'base64'), context);
  try {
    return decrypt(dataKey, Buffer.from(sealed.iv, 'base64'), Buffer.from(sealed.data, 'base64'), context).toString('utf8');
  } catch (err) {
    throw new Error(`sealed value does not open (wrong key or context, or altered): ${(err as Error).message}`, { cause: err });
  } finally {
    dataKey.fill(0);
  }
}

/** Data keys from AWS KMS: needs `kms:GenerateDataKey` and `kms:Decrypt` on that one key. */
export class KmsDataKeys implements DataKeys {
  readonly keyId: string;
  #client: KMSClient | undefined;

  constructor(keyId: string, client?: KMSClient) {
    this.keyId = keyId;
    this.#client = client;
  }

  async #kms() {
    const library = await kmsLibrary();
    this.#client ??= new library.KMSClient({ retryMode: 'adaptive', maxAttempts: 5 });
    return { client: this.#client, library };
  }

  async generate(context: EncryptionContext) {
    const { client, library } = await this.#kms();
    const answer = await client.send(new library.GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...context } }));
    if (!answer.Plaintext || !answer.CiphertextBlob) throw new Error(`KMS GenerateDataKey on ${this.keyId} returned no key`);
    return { plaintext: Buffer.from(answer.Plaintext), wrapped: Buffer.from(answer.CiphertextBlob) };
  }

  async unwrap(wrapped: Buffer, context: EncryptionContext) {
    const { client, library } = await this.#kms();
    // KeyId pins the key: a blob wrapped by any other key is refused rather than opened with it.
    const answer = await client.send(new library.DecryptCommand({ KeyId: this.keyId, CiphertextBlob: wrapped, EncryptionContext: { ...context } }));
    if (!answer.Plaintext) throw new Error(`KMS Decrypt with ${this.keyId} returned no key`);
    return Buffer.from(answer.Plaintext);
  }
}

/** Data keys wrapped by a local 32-byte key (AES-256-GCM): `autoscaler local`, the demo, tests. */
export class LocalDataKeys implements DataKeys {
  readonly keyId = 'local';
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== dataKeyBytes) throw new Error(`a local sealing key is ${dataKeyBytes} bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
  }

  /** A key for this process only: what it seals, no other process can open. */
  static ephemeral(): LocalDataKeys {
    return new LocalDataKeys(randomBytes(dataKeyBytes));
  }

  /** The key in `path` (created, readable by the owner only, when missing). */
  static async fromFile(path: string): Promise<LocalDataKeys> {
    let key: Buffer;
    try {
      key = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the local sealing key ${path}: ${(err as Error).message}`, { cause: err });
      await mkdir(dirname(path), { recursive: true });
      // 'wx': two processes creating it at once cannot overwrite each other's key.
      await writeFile(path, randomBytes(dataKeyBytes), { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      await chmod(path, 0o600);
      key = await readFile(path);
    }
    if (key.length !== dataKeyBytes) throw new Error(`the local sealing key ${path} is ${key.length} bytes; expected ${dataKeyBytes} (remove it to make a new one; what it sealed is then lost)`);
    return new LocalDataKeys(key);
  }

  async generate(context: EncryptionContext) {
    const plaintext = randomBytes(dataKeyBytes);
    const { iv, data } = encrypt(this.#key, plaintext, context);
    return { plaintext, wrapped: Buffer.concat([iv, data]) };
  }

  async unwrap(wrapped: Buffer, context: EncryptionContext) {
    return decrypt(this.#key, wrapped.subarray(0, ivBytes), wrapped.subarray(ivBytes), context);
  }
}

/** Stands in where no key is configured: sealing fails with `reason` instead of storing plain text. */
export class MissingDataKeys implements DataKeys {
  readonly keyId = 'none';
  readonly #reason: string;

  constructor(reason: string) {
    this.#reason = reason;
  }

  generate(): Promise<never> {
    return Promise.reject(new Error(this.#reason));
  }

  unwrap(): Promise<never> {
    return Promise.reject(new Error(this.#reason));
  }
}

/** Opened values kept per warm process, so reading the same sealed value again does not call KMS Decrypt. */
const maxOpenedCached = 1_000;

/**
 * Sealing for one plug-in's state (PluginState.secrets): the namespace joins the caller's context,
 * so one plug-in's sealed value does not open as another's. Opened values are cached by their
 * wrapped key and IV (unique per sealing), bounded.
 */
export function namespaceSecrets(keys: DataKeys, namespace: string): { seal(plaintext: string, context: EncryptionContext): Promise<Sealed>; open(sealed: Sealed, context: EncryptionContext): Promise<string> } {
  const opened = new Map<string, Promise<string>>();
  const bound = (context: EncryptionContext): EncryptionContext => ({ ...context, namespace });
  return {
    seal: (plaintext, context) => seal(keys, plaintext, bound(context)),
    open(sealed, context) {
      const cacheKey = JSON.stringify([Object.entries(context).sort(), sealed.key, sealed.iv]);
      let value = opened.get(cacheKey);
      if (!value) {
        value = open(keys, sealed, bound(context));
        opened.set(cacheKey, value);
        value.catch(() => opened.delete(cacheKey));
        if (opened.size > maxOpenedCached) opened.delete(opened.keys().next().value!);
      }
      return value;
    },
  };
}
