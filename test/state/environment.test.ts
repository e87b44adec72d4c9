import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storesFromEnvironment, tableNamesFromEnvironment } from '../../shared/state/client.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { stepsPolicy } from '../evaluate/fakes.ts';
import { startTestStores, type TestStores } from './setup.ts';

let db: TestStores;
const saved: Record<string, string | undefined> = {};
const env = (values: Record<string, string>) => {
  for (const [key, value] of Object.entries(values)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
};

beforeAll(async () => {
  db = await startTestStores();
});
afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await db.close();
});

describe('storesFromEnvironment', () => {
  it('reaches the tables named by POLICIES_TABLE/STATE_TABLE/AUDIT_TABLE at AWS_ENDPOINT_URL_DYNAMODB (the SDK reads it itself)', async () => {
    // Prepare
    env({
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POLICIES_TABLE: db.names.policies,
      STATE_TABLE: db.names.state,
      AUDIT_TABLE: db.names.audit,
    });
    await db.stores.policies.put(Policy.parse(stepsPolicy('env-check', 'env-check')), 0);
    // Act
    const stores = storesFromEnvironment();
    const found = await stores.policies.get('env-check');
    // Assess
    expect(found?.version).toBe(1);
  });

  it('names every missing or invalid variable', () => {
    // Act / Assess
    expect(() => tableNamesFromEnvironment({ POLICIES_TABLE: 'p-table' })).toThrow('set STATE_TABLE, AUDIT_TABLE to the table names');
    expect(() => tableNamesFromEnvironment({ POLICIES_TABLE: 'p', STATE_TABLE: 'state-t', AUDIT_TABLE: 'audit-t' })).toThrow(/POLICIES_TABLE: "p" is not a DynamoDB table name/);
    expect(() => storesFromEnvironment({ POLICIES_TABLE: 'pol', STATE_TABLE: 'sta', AUDIT_TABLE: 'aud', AUDIT_RETENTION_DAYS: 'forever' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
