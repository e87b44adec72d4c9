/**
 * Synth-time checks of the named endpoints the functions get in AUTOSCALER_ENDPOINTS: the schema
 * (shared/config/endpoints.ts), plus what only matters in Lambda: no unix sockets, no kubeconfig or
 * local files (none exist there), every EKS cluster granted, every referenced secret granted.
 * Pure: no construct, so it is tested on its own.
 */
import type * as z from 'zod/mini';
import { Endpoints } from '../shared/config/endpoints.ts';
import { endpointKinds } from '../shared/plugins/catalog.ts';
import type { EndpointKind, LambdaCheckContext } from '../shared/plugins/descriptor.ts';

export interface EndpointsCheckContext {
  /** Clusters the stack grants access to. */
  readonly eksClusterNames: readonly string[];
  /** Secret names/ARNs the stack grants; undefined when not known at synth (tokens): not checked. */
  readonly grantedSecretIds: ReadonlySet<string> | undefined;
  /**
   * The stack's region when known at synth (undefined for an environment-agnostic stack). Access
   * entries and eks:DescribeCluster are granted in it, so an EKS endpoint naming another region
   * would fail at run time with AccessDenied: rejected here instead. Absent: not checked.
   */
  readonly stackRegion?: string | undefined;
}

export function checkEndpoints(input: z.input<typeof Endpoints>, context: EndpointsCheckContext): Endpoints {
  const parsed = Endpoints.safeParse(input);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `endpoints.${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const endpoints = parsed.data;
  const problems: string[] = [];
  const check: LambdaCheckContext = {
    eksClusterNames: context.eksClusterNames,
    ...('stackRegion' in context ? { stackRegion: context.stackRegion } : {}),
    problem: (path, message) => problems.push(`endpoints.${path}: ${message}`),
    secret(path, ref) {
      if (!ref) return;
      if ('file' in ref) {
        problems.push(`endpoints.${path}: a file ("${ref.file}") does not exist in Lambda; use { secretId } (Secrets Manager)`);
      } else if (context.grantedSecretIds && !matchesGranted(ref.secretId, context.grantedSecretIds)) {
        problems.push(`endpoints.${path}: secret "${ref.secretId}" is not among the granted secrets (${[...context.grantedSecretIds].join(', ') || 'none'}); add it to "secrets" (in the "autoscaler" CDK context, or the Autoscaler construct's secrets prop)`);
      }
    },
  };
  // Each endpoint kind brings its own checks (shared/plugins/<kind>/<name>/descriptor.ts).
  for (const kind of endpointKinds as readonly EndpointKind<string, any>[]) {
    if (!kind.checkForLambda) continue;
    const configured = (endpoints as Record<string, Record<string, unknown>>)[kind.kind] ?? {};
    for (const [endpointName, endpoint] of Object.entries(configured)) kind.checkForLambda(endpointName, endpoint, check);
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
