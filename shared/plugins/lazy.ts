/**
 * A plug-in's client library, loaded on its first use rather than at import: a cold start then pays
 * only for the libraries its policies need. A failed load is retried on the next call, not cached.
 * Loading sets `globalThis[Symbol.for('autoscaler.<name>Loaded')]`, so the bundle tests can show a
 * library was not loaded. Pass `() => import('package')` literally: esbuild keeps it a dynamic import.
 */
export function lazyLibrary<T>(name: string, load: () => Promise<T>): () => Promise<T> {
  let library: Promise<T> | undefined;
  return () => {
    if (!library) {
      library = load().then((loaded) => {
        (globalThis as Record<symbol, unknown>)[Symbol.for(`autoscaler.${name}Loaded`)] = true;
        return loaded;
      });
      library.catch(() => (library = undefined));
    }
    return library;
  };
}
