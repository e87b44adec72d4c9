/**
 * Secrets Manager reads for TLS material and passwords named in the endpoints configuration.
 * Cached per warm container for five minutes, so rotation is picked up without a redeploy.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { lazyLibrary } from '../plugins/lazy.ts';

// Only Docker TLS material and passwords live in secrets: loaded on the first read (infra/bundling.ts).
const secretsManagerLibrary = lazyLibrary('secretsManagerClient', () => import('@aws-sdk/client-secrets-manager'));

const ttlMs = 5 * 60_000;
const cache = new Map<string, { value: Promise<string>; until: number }>();
let client: SecretsManagerClient | undefined;

export async function getSecret(secretId: string): Promise<string> {
  const cached = cache.get(secretId);
  if (cached && cached.until > Date.now()) return cached.value;
  const value = secretsManagerLibrary().then(({ GetSecretValueCommand, SecretsManagerClient }) => {
    client ??= new SecretsManagerClient({ retryMode: 'adaptive', maxAttempts: 5 });
    return client.send(new GetSecretValueCommand({ SecretId: secretId }));
  }).then((r) => {
    if (r.SecretString === undefined) throw new Error(`secret "${secretId}" has no string value`);
    return r.SecretString;
  });
  cache.set(secretId, { value, until: Date.now() + ttlMs });
  value.catch(() => cache.delete(secretId));
  return value;
}
