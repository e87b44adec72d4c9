/**
 * Synth-time checks of the named endpoints the functions get in AUTOSCALER_ENDPOINTS: the schema
 * (shared/config/endpoints.ts), plus what only matters in Lambda: no unix sockets, no kubeconfig or
 * local files (none exist there), every EKS cluster granted, every referenced secret granted.
 * Pure: no construct, so it is tested on its own.
 */
import type * as z from 'zod/mini';
import { Endpoints, type SecretOrFile } from '../shared/config/endpoints.ts';

export interface EndpointsCheckContext {
  /** Clusters the stack grants access to. */
  readonly eksClusterNames: readonly string[];
  /** Secret names/ARNs the stack grants; undefined when not known at synth (tokens): not checked. */
  readonly grantedSecretIds: ReadonlySet<string> | undefined;
}

export function checkEndpoints(input: z.input<typeof Endpoints>, context: EndpointsCheckContext): Endpoints {
  const parsed = Endpoints.safeParse(input);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `endpoints.${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const endpoints = parsed.data;
  const problems: string[] = [];
  const secretRef = (path: string, ref: SecretOrFile | undefined) => {
    if (!ref) return;
    if ('file' in ref) {
      problems.push(`endpoints.${path}: a file ("${ref.file}") does not exist in Lambda; use { secretId } (Secrets Manager)`);
    } else if (context.grantedSecretIds && !matchesGranted(ref.secretId, context.grantedSecretIds)) {
      problems.push(`endpoints.${path}: secret "${ref.secretId}" is not among the granted secrets (${[...context.grantedSecretIds].join(', ') || 'none'}); add it to "secrets" (in the "autoscaler" CDK context, or the Autoscaler construct's secrets prop)`);
    }
  };
  for (const [name, docker] of Object.entries(endpoints.docker)) {
    if ('socket' in docker) {
      problems.push(`endpoints.docker.${name}: a unix socket ("${docker.socket}") is not reachable from Lambda; use { host: "tcp://host:2376", tls: {...} }`);
      continue;
    }
    if (!docker.tls) problems.push(`endpoints.docker.${name}: a remote Docker host needs mutual TLS (tls: { ca, cert, key } as secrets)`);
    secretRef(`docker.${name}.tls.ca`, docker.tls?.ca);
    secretRef(`docker.${name}.tls.cert`, docker.tls?.cert);
    secretRef(`docker.${name}.tls.key`, docker.tls?.key);
  }
  for (const [name, haproxy] of Object.entries(endpoints.haproxy)) {
    if ('socket' in haproxy) problems.push(`endpoints.haproxy.${name}: a unix socket ("${haproxy.socket}") is not reachable from Lambda; use { address: "host:port" }`);
  }
  for (const [name, redis] of Object.entries(endpoints.redis)) secretRef(`redis.${name}.password`, redis.password);
  for (const [name, kubernetes] of Object.entries(endpoints.kubernetes)) {
    if ('kubeconfig' in kubernetes) {
      problems.push(`endpoints.kubernetes.${name}: a kubeconfig does not exist in Lambda; use { eks: { name } }`);
    } else if (!context.eksClusterNames.includes(kubernetes.eks.name)) {
      problems.push(`endpoints.kubernetes.${name}: EKS cluster "${kubernetes.eks.name}" is not among the granted clusters (${context.eksClusterNames.join(', ') || 'none'}); add it to "eksClusters" (in the "autoscaler" CDK context, or the Autoscaler construct's prop)`);
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return endpoints;
}

/** A secret id may be its name, its ARN, or its ARN without the random suffix; compare by name too. */
function matchesGranted(secretId: string, granted: ReadonlySet<string>): boolean {
  if (granted.has(secretId)) return true;
  const wanted = secretNameOf(secretId);
  for (const id of granted) if (secretNameOf(id) === wanted) return true;
  return false;
}

/** The secret's name: an ARN's name part without Secrets Manager's "-XXXXXX" suffix (complete ARNs only). */
function secretNameOf(id: string): string {
  const arn = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(id);
  if (!arn) return id;
  return arn[1]!.replace(/-[A-Za-z0-9]{6}$/, '');
}
