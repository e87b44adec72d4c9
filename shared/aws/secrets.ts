/**
 * Secrets Manager reads for TLS material and passwords named in the endpoints configuration.
 * Cached per warm container for `secretCacheMs` (4 minutes); clients built from a secret re-read it
 * every `tlsRecheckMs` (1 minute), so a rotated secret is in use within five minutes
 * (`rotationPickupMs`) without a redeploy or a recycled container.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretCacheMs } from '../config/rotation.ts';
import { lazyLibrary } from '../plugins/lazy.ts';

// Only Docker TLS material and passwords live in secrets: loaded on the first read (infra/bundling.ts).
const secretsManagerLibrary = lazyLibrary('secretsManagerClient', () => import('@aws-sdk/client-secrets-manager'));

const cache = new Map<string, { value: Promise<string>; until: number }>();
let client: SecretsManagerClient | undefined;

/** `now` is injectable so tests can pass minutes without waiting for them. */
export async function getSecret(secretId: string, now: () => number = Date.now): Promise<string> {
  const cached = cache.get(secretId);
  if (cached && cached.until > now()) return cached.value;
  const value = secretsManagerLibrary().then(({ GetSecretValueCommand, SecretsManagerClient }) => {
    client ??= new SecretsManagerClient({ retryMode: 'adaptive', maxAttempts: 5 });
    return client.send(new GetSecretValueCommand({ SecretId: secretId }));
  }).then((r) => {
    if (r.SecretString === undefined) throw new Error(`secret "${secretId}" has no string value`);
    return r.SecretString;
  });
  cache.set(secretId, { value, until: now() + secretCacheMs });
  value.catch(() => cache.delete(secretId));
  return value;
}
