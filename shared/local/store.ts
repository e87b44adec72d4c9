/**
 * The local store: dynalite persisted under a directory. LevelDB locks the directory, so one process
 * serves it: `autoscaler local` writes its endpoint URL to DIR/endpoint, and the CLI's policy and
 * audit commands use that server while it answers, or open the directory themselves otherwise.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { documentClient, localClient, storesFor, type Stores } from '../state/client.ts';
import { createTables } from '../state/create.ts';
import { localTableNames } from '../state/tables.ts';
import { startDynalite } from './dynalite.ts';

export interface LocalStore {
  readonly stores: Stores;
  readonly endpoint: string;
  /** True when this process serves the directory (and must close it). */
  readonly serving: boolean;
  close(): Promise<void>;
}

const endpointFile = (dir: string) => join(dir, 'endpoint');
const dataDir = (dir: string) => join(dir, 'dynamodb');

async function answers(endpoint: string): Promise<boolean> {
  const client = localClient(endpoint);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

/** Uses the running `autoscaler local` of DIR if there is one, else opens DIR itself. */
export async function openLocalStore(dir: string): Promise<LocalStore> {
  const published = await readFile(endpointFile(dir), 'utf8').then((s) => s.trim(), () => undefined);
  if (published && /^http:\/\/127\.0\.0\.1:\d+$/.test(published) && (await answers(published))) {
    const client = localClient(published);
    await createTables(client, localTableNames);
    return {
      stores: storesFor(documentClient(client), localTableNames),
      endpoint: published,
      serving: false,
      async close() {
        client.destroy();
      },
    };
  }
  return serveLocalStore(dir, false);
}

/** Serves DIR (creating the tables); with `publish`, writes DIR/endpoint for other processes. */
export async function serveLocalStore(dir: string, publish = true): Promise<LocalStore> {
  const server = await startDynalite(dataDir(dir));
  const client = localClient(server.endpoint);
  try {
    await createTables(client, localTableNames);
  } catch (error) {
    client.destroy();
    await server.close();
    const text = (error as Error).message;
    throw new Error(/lock|LEVEL_/i.test(text) ? `the local store in ${dir} is in use by another process and its endpoint does not answer (${text})` : `opening the local store in ${dir}: ${text}`);
  }
  if (publish) await writeFile(endpointFile(dir), `${server.endpoint}\n`);
  return {
    stores: storesFor(documentClient(client), localTableNames),
    endpoint: server.endpoint,
    serving: true,
    async close() {
      if (publish) {
        const current = await readFile(endpointFile(dir), 'utf8').then((s) => s.trim(), () => undefined);
        if (current === server.endpoint) await rm(endpointFile(dir), { force: true });
      }
      client.destroy();
      await server.close();
    },
  };
}

/** The stores a CLI command works on: the local store in `localDir`, or the AWS tables named by the environment. */
export async function openStores(localDir: string | undefined): Promise<{ stores: Stores; close(): Promise<void> }> {
  if (localDir !== undefined) return openLocalStore(localDir);
  const { storesFromEnvironment } = await import('../state/client.ts');
  return { stores: storesFromEnvironment(), async close() {} };
}
