import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, expect, it } from 'vitest';
import { getSecret } from '../../shared/aws/secrets.ts';
import { rotationPickupMs, secretCacheMs, tlsRecheckMs } from '../../shared/config/rotation.ts';

const secretsManager = mockClient(SecretsManagerClient);
afterEach(() => secretsManager.reset());

it('defect 9: a rotated secret is read again once the cache interval passed (Secrets Manager via aws-sdk-client-mock, injected clock)', async () => {
  // Prepare: the secret id is unique to this test (the cache lives at module scope).
  const secretId = `docker/rotation-${Date.now()}`;
  let current = 'cert-before';
  secretsManager.on(GetSecretValueCommand, { SecretId: secretId }).callsFake(async () => ({ SecretString: current }));
  let clock = Date.parse('2026-12-01T03:00:00Z');
  const now = () => clock;

  // Act
  const first = await getSecret(secretId, now);
  current = 'cert-after';
  clock += secretCacheMs - 1;
  const stillCached = await getSecret(secretId, now);
  clock += 1;
  const reread = await getSecret(secretId, now);

  // Assess: cached, then re-read; with the clients' recheck the whole pickup stays within the promise.
  expect([first, stillCached, reread]).toEqual(['cert-before', 'cert-before', 'cert-after']);
  expect(secretsManager.commandCalls(GetSecretValueCommand, { SecretId: secretId })).toHaveLength(2);
  expect(secretCacheMs + tlsRecheckMs).toBeLessThanOrEqual(rotationPickupMs);
  expect(rotationPickupMs).toBe(5 * 60_000);
});
