/** A fresh in-memory dynalite with the three tables, per test file. */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynalite } from '../../shared/local/dynalite.ts';
import { documentClient, localClient, storesFor, type Stores } from '../../shared/state/client.ts';
import { createTables } from '../../shared/state/create.ts';
import { localTableNames, type TableNames } from '../../shared/state/tables.ts';

export interface TestStores {
  readonly stores: Stores;
  readonly doc: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly endpoint: string;
  /** Every command name the document client sent, in order (to show which calls a code path makes). */
  readonly sent: string[];
  close(): Promise<void>;
}

export async function startTestStores(): Promise<TestStores> {
  const server = await startDynalite();
  const client = localClient(server.endpoint);
  await createTables(client, localTableNames);
  const doc = documentClient(client);
  const sent: string[] = [];
  const send = doc.send.bind(doc) as (command: unknown, options?: unknown) => Promise<unknown>;
  (doc as unknown as { send: typeof send }).send = (command: unknown, options?: unknown) => {
    sent.push((command as { constructor: { name: string } }).constructor.name);
    return send(command, options);
  };
  return {
    stores: storesFor(doc, localTableNames),
    doc,
    names: localTableNames,
    endpoint: server.endpoint,
    sent,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
