/** Endpoints for local mode: from a YAML file, or from the usual environment variables. */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { Endpoints } from '../config/endpoints.ts';

/**
 * DOCKER_HOST → docker endpoint "local" (unix:///path or tcp://host:port), HAPROXY_RUNTIME →
 * haproxy "local" (a socket path or host:port), REDIS_URL → redis "local". Invalid values throw,
 * naming the variable.
 */
export function endpointsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Endpoints {
  const raw: Record<string, Record<string, unknown>> = { docker: {}, haproxy: {}, redis: {}, kubernetes: {} };
  if (env.DOCKER_HOST) {
    const host = env.DOCKER_HOST;
    raw.docker!.local = host.startsWith('unix://') ? { socket: host.slice('unix://'.length) } : { host };
  }
  if (env.HAPROXY_RUNTIME) {
    const runtime = env.HAPROXY_RUNTIME;
    raw.haproxy!.local = runtime.startsWith('/') ? { socket: runtime } : { address: runtime.replace(/^tcp:\/\//, '') };
  }
  if (env.REDIS_URL) raw.redis!.local = { url: env.REDIS_URL };
  const parsed = Endpoints.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = { docker: 'DOCKER_HOST', haproxy: 'HAPROXY_RUNTIME', redis: 'REDIS_URL' }[String(issue.path[0])] ?? String(issue.path[0]);
    throw new Error(`${variable}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and validates an endpoints YAML file; errors read `file: path: message`. */
export async function endpointsFromFile(file: string): Promise<Endpoints> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8')) ?? {};
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  const parsed = Endpoints.safeParse(document);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n'));
  }
  return parsed.data;
}
