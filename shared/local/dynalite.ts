/**
 * An embedded DynamoDB (dynalite) for local mode and tests: in memory, or persisted under a
 * directory (LevelDB, which locks the directory: one process at a time; see store.ts for sharing).
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

export interface RunningDynalite {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite on a free loopback port; `dir` persists the data there (created if missing). */
export async function startDynalite(dir?: string): Promise<RunningDynalite> {
  if (dir !== undefined) await mkdir(dir, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dir !== undefined ? { path: dir } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
