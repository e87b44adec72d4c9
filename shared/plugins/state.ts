/**
 * Plug-in state: a small key-value store per plug-in namespace, for what a plug-in must remember
 * between evaluations (e.g. the scrape source's previous histogram). The evaluation may pass a
 * durable store on the context; without one a process-wide in-memory store is used, which a
 * warm Lambda keeps and a cold start loses — a plug-in must treat a lost value as "no baseline".
 */
import type { PluginContext, PluginState, PluginStateStore } from './types.ts';

class MemoryPluginStateStore implements PluginStateStore {
  readonly #namespaces = new Map<string, Map<string, unknown>>();

  namespace(name: string): PluginState {
    let values = this.#namespaces.get(name);
    if (!values) this.#namespaces.set(name, (values = new Map()));
    const store = values;
    return {
      get: async (key) => structuredClone(store.get(key)),
      set: async (key, value) => void store.set(key, structuredClone(value)),
      delete: async (key) => void store.delete(key),
    };
  }
}

export function memoryPluginStateStore(): PluginStateStore {
  return new MemoryPluginStateStore();
}

const processState = memoryPluginStateStore();

/** The plug-in's own namespace of the context's state store (or of the process-wide one). */
export function stateOf(ctx: PluginContext, namespace: string): PluginState {
  return (ctx.state ?? processState).namespace(namespace);
}
