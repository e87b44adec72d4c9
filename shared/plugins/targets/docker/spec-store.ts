/**
 * Where the Docker target keeps the recorded specs of a service's original (non-managed)
 * containers, so that a removed one can be recreated: the spec must outlive the container.
 *
 * Only originals are recorded. Clones are the product's own and their number is the scaling
 * decision's business: a removed clone is replaced by the next scale-out, not recreated.
 *
 * The target finds the store on the plug-in context (`DockerPluginContext.specStore`); without one
 * it uses a process-wide in-memory store (enough for `autoscaler local`; a Lambda needs a durable
 * store, e.g. a DynamoDB implementation of this interface).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ContainerSpec } from './spec.ts';

export interface RecordedSpec {
  /** The container this spec was read from (a recreated container has a new id). */
  readonly containerId: string;
  readonly recordedAt: string;
  readonly spec: ContainerSpec;
}

export interface SpecStore {
  /** Recorded specs of one service (key: `targetKey(target)`), by container name. */
  list(serviceKey: string): Promise<ReadonlyMap<string, RecordedSpec>>;
  /** Records (or replaces) the spec of the container named `recorded.spec.name`. */
  put(serviceKey: string, recorded: RecordedSpec): Promise<void>;
  /** Forgets a container, e.g. when an operator retires it on purpose. */
  delete(serviceKey: string, name: string): Promise<void>;
}

export class MemorySpecStore implements SpecStore {
  readonly #services = new Map<string, Map<string, RecordedSpec>>();

  async list(serviceKey: string): Promise<ReadonlyMap<string, RecordedSpec>> {
    return new Map(this.#services.get(serviceKey) ?? []);
  }

  async put(serviceKey: string, recorded: RecordedSpec): Promise<void> {
    let service = this.#services.get(serviceKey);
    if (!service) this.#services.set(serviceKey, (service = new Map()));
    service.set(recorded.spec.name, structuredClone(recorded));
  }

  async delete(serviceKey: string, name: string): Promise<void> {
    this.#services.get(serviceKey)?.delete(name);
  }
}

type FileContents = Record<string, Record<string, RecordedSpec>>;

/** A JSON file (one per deployment), written atomically; writes from this process are serialised. */
export class FileSpecStore implements SpecStore {
  readonly #path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  async #read(): Promise<FileContents> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as FileContents;
    } catch {
      // fall through to the error below
    }
    throw new Error(`spec store ${this.#path}: not a JSON object of services; fix or remove the file`);
  }

  #update(change: (contents: FileContents) => void): Promise<void> {
    const run = this.#queue.then(async () => {
      const contents = await this.#read();
      change(contents);
      await mkdir(dirname(this.#path), { recursive: true });
      const temporary = `${this.#path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, this.#path);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async list(serviceKey: string): Promise<ReadonlyMap<string, RecordedSpec>> {
    await this.#queue;
    return new Map(Object.entries((await this.#read())[serviceKey] ?? {}));
  }

  put(serviceKey: string, recorded: RecordedSpec): Promise<void> {
    return this.#update((contents) => {
      contents[serviceKey] = { ...contents[serviceKey], [recorded.spec.name]: recorded };
    });
  }

  delete(serviceKey: string, name: string): Promise<void> {
    return this.#update((contents) => {
      const service = contents[serviceKey];
      if (!service) return;
      delete service[name];
      if (Object.keys(service).length === 0) delete contents[serviceKey];
    });
  }
}
