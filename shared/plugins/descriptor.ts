/**
 * What the catalog (shared/plugins/catalog.ts) knows of each plug-in without loading it: its policy
 * schema, the endpoint kind it reads from (with the checks that only matter in Lambda), the IAM it
 * needs, its capabilities, and a lazy `load()` of the implementation. Descriptors import only zod,
 * so the policy schema, endpoint parsing, the synth-time checks and the construct's IAM can all be
 * derived from the catalog without loading a client library.
 */
import type * as z from 'zod/mini';
import type { SecretOrFile } from '../policy/fields.ts';
import type { LoadBalancerFactory, MetricSource, ScaleTarget } from './types.ts';

/** One IAM statement the functions' role needs (plain data: the construct turns it into a PolicyStatement). */
export interface IamStatement {
  readonly sid: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** Why a resource with a wildcard is needed: becomes the cdk-nag acknowledgement of that resource. */
  readonly wildcardReason?: (resource: string) => string;
}

/** What a descriptor may use to name AWS resources at synth (the construct's stack: partition, account, region). */
export interface IamContext {
  /** Regions whose ElastiCache resources policies may name (the construct's `elastiCacheRegions`); undefined: the stack's. */
  readonly elastiCacheRegions?: readonly string[] | undefined;
  /** `arn:<partition>:<service>:<region>:<account>:<resource><separator><resourceName>`; region defaults to the stack's. */
  arn(parts: { service: string; resource: string; resourceName?: string; separator?: ':' | '/'; region?: string }): string;
}

/** What the synth-time Lambda checks offer an endpoint kind. */
export interface LambdaCheckContext {
  /** EKS clusters the stack grants access to. */
  readonly eksClusterNames: readonly string[];
  /**
   * The stack's region when known at synth (undefined for an environment-agnostic stack); absent:
   * not checked. Grants are made in it, so an endpoint naming another region would fail at run time.
   */
  readonly stackRegion?: string | undefined;
  /** Reports a problem; `path` is relative to `endpoints.`. */
  problem(path: string, message: string): void;
  /** Checks a secret reference: a file does not exist in Lambda, a secret must be granted. */
  secret(path: string, ref: SecretOrFile | undefined): void;
}

/** A kind of named endpoint (`endpoints.<kind>.<name>`), owned by one plug-in and possibly used by others. */
export interface EndpointKind<K extends string = string, S extends z.ZodMiniType = z.ZodMiniType> {
  readonly kind: K;
  readonly schema: S;
  /** What only matters in Lambda (no sockets, no local files, granted secrets and clusters). */
  checkForLambda?(name: string, endpoint: z.output<S>, ctx: LambdaCheckContext): void;
  /** IAM the functions need for the configured endpoints of this kind (e.g. one AMP workspace). */
  iam?(endpoints: Readonly<Record<string, z.output<S>>>, ctx: IamContext): IamStatement[];
}

export interface MetricSourceDescriptor<S extends z.ZodMiniType = z.ZodMiniType> {
  readonly source: string;
  /** The `metrics[]` shapes this source accepts, in the order the policy schema's union lists them. */
  readonly schemas: readonly S[];
  readonly endpointKind?: EndpointKind<string, any>;
  /**
   * One call answers many requests and no request depends on the target's state (CloudWatch's
   * GetMetricData takes 500): an evaluation sends all of them up front, in as few calls as the
   * limit allows, while the targets are still being read.
   */
  readonly batched?: boolean;
  /** IAM the functions need whatever the configuration (e.g. cloudwatch:GetMetricData). */
  iam?(ctx: IamContext): IamStatement[];
  readonly load: () => Promise<MetricSource<any>>;
}

export interface TargetCapabilities {
  /** `autoscaler.*` labels on the target override the policy (Docker). */
  readonly labelOverrides: boolean;
  /** The target knows its members (address and port), so a load balancer can be kept in step. */
  readonly members: boolean;
  /** The target's plug-in reaches into the containers on its host (ScaleTarget.containers): labels, exec, files. */
  readonly containers: boolean;
}

export interface TargetDescriptor<S extends z.ZodMiniType = z.ZodMiniType> {
  readonly type: string;
  readonly schema: S;
  readonly endpointKind?: EndpointKind<string, any>;
  readonly capabilities: TargetCapabilities;
  /** A stable key naming the target across policies, used by leases and the audit. */
  key(target: z.output<S>): string;
  readonly load: () => Promise<ScaleTarget<any>>;
}

export interface LoadBalancerDescriptor<S extends z.ZodMiniType = z.ZodMiniType> {
  readonly type: string;
  readonly schema: S;
  readonly endpointKind?: EndpointKind<string, any>;
  /** The target capabilities it needs besides `members` (nginx runs in a container on the target's host). */
  readonly needs?: { readonly containers?: true };
  readonly load: () => Promise<LoadBalancerFactory<any>>;
}
