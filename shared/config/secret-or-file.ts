/**
 * Reads a configured secret: a file (locally) or a Secrets Manager secret, optionally one string
 * key of a JSON secret. Errors name the endpoint (`label`) and the item (`what`), never the value.
 */
import { readFile } from 'node:fs/promises';
import type { PluginContext } from '../plugins/types.ts';
import type { SecretOrFile } from './endpoints.ts';

export async function readSecretOrFile(item: SecretOrFile, what: string, label: string, ctx: Pick<PluginContext, 'getSecret'>): Promise<string> {
  if ('file' in item) {
    try {
      return await readFile(item.file, 'utf8');
    } catch (err) {
      throw new Error(`${label}: cannot read ${what} from file ${item.file}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!ctx.getSecret) throw new Error(`${label}: ${what} is a Secrets Manager secret (${item.secretId}) but no secret reader is configured`);
  let raw: string;
  try {
    raw = await ctx.getSecret(item.secretId);
  } catch (err) {
    throw new Error(`${label}: cannot read ${what} from secret ${item.secretId}: ${(err as Error).message}`, { cause: err });
  }
  if (item.jsonKey === undefined) return raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${label}: secret ${item.secretId} is not JSON, so jsonKey "${item.jsonKey}" cannot be read`);
  }
  const value = (parsed as Record<string, unknown> | null)?.[item.jsonKey];
  if (typeof value !== 'string' || value === '') throw new Error(`${label}: secret ${item.secretId} has no string key "${item.jsonKey}" (${what})`);
  return value;
}
