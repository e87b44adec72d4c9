/**
 * The local store: dynalite persisted under a directory. LevelDB locks the directory, so one process
 * serves it: `autoscaler local` writes its endpoint URL to DIR/endpoint, and the CLI's policy and
 * audit commands use that server while it answers, or open the directory themselves otherwise.
 */
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { documentClient, localClient, storesFor, type Stores } from '../state/client.ts';
import { createTables } from '../state/create.ts';
import { LocalDataKeys } from '../state/sealing.ts';
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
const ownerFile = (dir: string) => join(dir, 'owner.pid');
/** Seals recorded container environments in this store (the local stand-in for the stack's KMS key). */
const sealingKeyFile = (dir: string) => join(dir, 'spec-sealing.key');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims DIR for this process before dynalite opens it: LevelDB's own lock failure surfaces inside
 * dynalite as an uncaught error, so a second process must learn it is in use here, with a clear message.
 */
async function claim(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(ownerFile(dir), `${process.pid}\n`, { flag: 'wx' });
      return () => rm(ownerFile(dir), { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(ownerFile(dir), 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`the local store in ${dir} is in use by process ${pid}, which does not serve it (only \`autoscaler local\` shares its store); try again when it ends`);
      }
      await rm(ownerFile(dir), { force: true }); // left by a process that is gone
    }
  }
  throw new Error(`could not claim the local store in ${dir}`);
}

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
    const specKeys = await LocalDataKeys.fromFile(sealingKeyFile(dir));
    const client = localClient(published);
    await createTables(client, localTableNames);
    return {
      stores: storesFor(documentClient(client), localTableNames, { specKeys }),
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
  const specKeys = await LocalDataKeys.fromFile(sealingKeyFile(dir));
  const release = await claim(dir);
  const server = await startDynalite(dataDir(dir)).catch(async (error: unknown) => {
    await release();
    throw error;
  });
  const client = localClient(server.endpoint);
  try {
    await createTables(client, localTableNames);
  } catch (error) {
    client.destroy();
    await server.close();
    await release();
    const text = (error as Error).message;
    throw new Error(/lock|LEVEL_/i.test(text) ? `the local store in ${dir} is in use by another process and its endpoint does not answer (${text})` : `opening the local store in ${dir}: ${text}`);
  }
  if (publish) await writeFile(endpointFile(dir), `${server.endpoint}\n`);
  return {
    stores: storesFor(documentClient(client), localTableNames, { specKeys }),
    endpoint: server.endpoint,
    serving: true,
    async close() {
      if (publish) {
        const current = await readFile(endpointFile(dir), 'utf8').then((s) => s.trim(), () => undefined);
        if (current === server.endpoint) await rm(endpointFile(dir), { force: true });
      }
      client.destroy();
      await server.close();
      await release();
    },
  };
}

/**
 * The stores a CLI command works on: the local store in `localDir`, or the AWS tables named by the
 * environment. Only a command that writes may create a local store: reading a mistyped directory
 * must not answer "nothing there" from a new, empty store.
 */
export async function openStores(localDir: string | undefined, options: { create?: boolean } = {}): Promise<{ stores: Stores; close(): Promise<void> }> {
  if (localDir !== undefined) {
    if (!options.create && !(await access(dataDir(localDir)).then(() => true, () => false))) {
      throw new Error(`no local store in ${localDir} (\`autoscaler local --data ${localDir}\` or \`autoscaler policy apply --local ${localDir}\` creates one)`);
    }
    return openLocalStore(localDir);
  }
  const { storesFromEnvironment } = await import('../state/client.ts');
  return { stores: storesFromEnvironment(), async close() {} };
}
