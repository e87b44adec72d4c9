/**
 * Plug-in state: a small key-value store per plug-in namespace, for what a plug-in must remember
 * between evaluations (the scrape source's previous histogram, the Docker target's recorded
 * container specs). The evaluation passes a durable store on the context where it has one (the
 * state table: shared/state/plugin-state.ts); without one a process-wide in-memory store is used,
 * which a warm Lambda keeps and a cold start loses — a plug-in must treat a lost value as "no baseline".
 */
import { LocalDataKeys, namespaceSecrets } from '../state/sealing.ts';
import type { PluginContext, PluginState, PluginStateStore } from './types.ts';

class MemoryPluginStateStore implements PluginStateStore {
  readonly #namespaces = new Map<string, PluginState>();
  // Values never leave the process, but sealing for real keeps one behaviour everywhere (a sealed
  // value opens only under its own context).
  readonly #keys = LocalDataKeys.ephemeral();

  namespace(name: string): PluginState {
    let state = this.#namespaces.get(name);
    if (!state) this.#namespaces.set(name, (state = memoryNamespace(namespaceSecrets(this.#keys, name))));
    return state;
  }
}

function memoryNamespace(secrets: PluginState['secrets']): PluginState {
  const values = new Map<string, unknown>();
  return {
    get: async (key) => structuredClone(values.get(key)),
    set: async (key, value) => void values.set(key, structuredClone(value)),
    delete: async (key) => void values.delete(key),
    list: async (prefix) => new Map([...values].filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [key, structuredClone(value)])),
    secrets,
  };
}

export function memoryPluginStateStore(): PluginStateStore {
  return new MemoryPluginStateStore();
}

const processState = memoryPluginStateStore();

/** The plug-in's own namespace of the context's state store (or of the process-wide one). */
export function stateOf(ctx: PluginContext, namespace: string): PluginState {
  return (ctx.state ?? processState).namespace(namespace);
}
