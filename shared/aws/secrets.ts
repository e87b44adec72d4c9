/**
 * Secrets Manager reads for TLS material and passwords named in the endpoints configuration.
 * Cached per warm container for five minutes, so rotation is picked up without a redeploy.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

const ttlMs = 5 * 60_000;
const cache = new Map<string, { value: Promise<string>; until: number }>();
let client: SecretsManagerClient | undefined;

export async function getSecret(secretId: string): Promise<string> {
  const cached = cache.get(secretId);
  if (cached && cached.until > Date.now()) return cached.value;
  client ??= new SecretsManagerClient({ retryMode: 'adaptive', maxAttempts: 5 });
  const value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((r) => {
    if (r.SecretString === undefined) throw new Error(`secret "${secretId}" has no string value`);
    return r.SecretString;
  });
  cache.set(secretId, { value, until: Date.now() + ttlMs });
  value.catch(() => cache.delete(secretId));
  return value;
}
