/**
 * Where the Docker target keeps the recorded specs of a service's original (non-managed)
 * containers, so that a removed one can be recreated: the spec must outlive the container.
 *
 * Only originals are recorded. Clones are the product's own and their number is the scaling
 * decision's business: a removed clone is replaced by the next scale-out, not recreated.
 *
 * The specs live in the target's plug-in state (namespace `docker`, shared/plugins/state.ts): the
 * state table in Lambda and `autoscaler local`, process memory without a durable store. Key
 * `specs/<target key>/<container name>`. A container's environment (`Env`, often passwords and
 * tokens) is sealed through the state's secrets (KMS in AWS), bound to the service and container;
 * the rest of the spec is stored as it is.
 */
import type { PluginState, SealedSecret } from '../../types.ts';
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

/** What the state holds per container: the spec without its environment, and the environment sealed. */
interface StoredSpec {
  readonly recorded: RecordedSpec;
  readonly env?: SealedSecret;
}

const prefixOf = (serviceKey: string) => `specs/${serviceKey}/`;
const envContext = (serviceKey: string, name: string) => ({ purpose: 'autoscaler/container-env', service: serviceKey, container: name });

/** The recorded specs in one plug-in state namespace (the Docker target passes its own, `docker`). */
export function stateSpecStore(state: PluginState): SpecStore {
  const store: SpecStore = {
    async list(serviceKey) {
      const prefix = prefixOf(serviceKey);
      const specs = new Map<string, RecordedSpec>();
      for (const value of (await state.list(prefix)).values()) {
        const { recorded, env } = value as StoredSpec;
        const name = recorded.spec.name;
        if (!env) {
          // An environment in plain text comes from before sealing (a spec recorded by an older
          // release): stored again at once, sealed, which also removes the old item. If sealing is
          // not possible now, the spec is still used; the next recording says why it cannot be stored.
          if (recorded.spec.body.Env && recorded.spec.body.Env.length > 0) await store.put(serviceKey, recorded).catch(() => undefined);
          specs.set(name, recorded);
          continue;
        }
        let values: string;
        try {
          values = await state.secrets.open(env, envContext(serviceKey, name));
        } catch (err) {
          throw new Error(`recorded spec of container "${name}" (${serviceKey}): its environment cannot be decrypted: ${(err as Error).message}`, { cause: err });
        }
        specs.set(name, { ...recorded, spec: { ...recorded.spec, body: { ...recorded.spec.body, Env: JSON.parse(values) as string[] } } });
      }
      return specs;
    },

    async put(serviceKey, recorded) {
      const env = recorded.spec.body.Env;
      const name = recorded.spec.name;
      let stored: StoredSpec = { recorded };
      if (env && env.length > 0) {
        try {
          // Env stays as a key (null) so reading puts the values back in the same place: the target
          // compares recorded specs as JSON text, and a moved key would look like a change.
          const sealed = await state.secrets.seal(JSON.stringify(env), envContext(serviceKey, name));
          stored = { recorded: { ...recorded, spec: { ...recorded.spec, body: { ...recorded.spec.body, Env: null as unknown as undefined } } }, env: sealed };
        } catch (err) {
          throw new Error(`recorded spec of container "${name}" (${serviceKey}): its environment cannot be encrypted, so it is not stored: ${(err as Error).message}`, { cause: err });
        }
      }
      await state.set(`${prefixOf(serviceKey)}${name}`, stored);
    },

    async delete(serviceKey, name) {
      await state.delete(`${prefixOf(serviceKey)}${name}`);
    },
  };
  return store;
}
