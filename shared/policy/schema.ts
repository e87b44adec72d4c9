/**
 * The policy model: the single source of truth. Types are inferred from it and the
 * published JSON Schema (`schema/policy.schema.json`) is generated from it.
 */
// zod/mini (functional API) rather than classic zod: the same validation and types, but much less
// code for a Lambda cold start to load, and cheaper schema construction at import. Descriptions,
// which the JSON Schema carries, are registered in z.globalRegistry as classic `.describe()` does
// (z.describe() would work too, but as a no-op check run on every parse).
import * as z from 'zod/mini';
import '../zod-locale.ts';

const name = z.string().check(
  z.minLength(1),
  z.maxLength(128),
  z.regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'letters, digits and . _ : / - only, starting with a letter or digit'),
);
const positiveInt = z.number().check(z.int(), z.minimum(1));
const nonNegativeInt = z.number().check(z.int(), z.minimum(0));

// ---------------------------------------------------------------- targets

export const DockerTarget = z
  .strictObject({
    type: z.literal('docker'),
    /** Name of a Docker endpoint from the endpoints configuration. */
    endpoint: name,
    /** Containers labelled `autoscaler.service=<service>` form the service. */
    service: name,
    /** How many clones start at once. */
    parallelism: z._default(positiveInt.check(z.maximum(32)), 4),
    /** Seconds a container gets to stop before it is killed. */
    stopGraceSeconds: z._default(nonNegativeInt.check(z.maximum(600)), 10),
    /** Seconds a clone gets to be running (and healthy, if it has a healthcheck). */
    startTimeoutSeconds: z._default(positiveInt.check(z.maximum(900)), 60),
  })
  .register(z.globalRegistry, { description: 'Containers on a Docker host, found by label.' });

export const KubernetesTarget = z
  .strictObject({
    type: z.literal('kubernetes'),
    /** Name of a cluster from the endpoints configuration (an EKS cluster or a kubeconfig context). */
    cluster: name,
    namespace: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace name (RFC 1123 label)'), z.maxLength(63)),
    kind: z.enum(['Deployment', 'StatefulSet']),
    name: z.string().check(z.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes object name (RFC 1123 subdomain)'), z.maxLength(253)),
  })
  .register(z.globalRegistry, { description: 'A Deployment or StatefulSet, scaled through its scale subresource.' });

export const Target = z.discriminatedUnion('type', [DockerTarget, KubernetesTarget]);

// ---------------------------------------------------------------- metrics

const metricId = z
  .string()
  .check(z.regex(/^[a-z][a-zA-Z0-9_]*$/, 'start with a lower-case letter; letters, digits and _ only (CloudWatch query id rules)'), z.maxLength(64));
const cloudWatchStat = z
  .string()
  .check(z.regex(/^(SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?|tm\d{1,2}|IQM)$/, 'a CloudWatch statistic: Average, Sum, Minimum, Maximum, SampleCount, pNN, tmNN or IQM'));
const period = z.number().check(
  z.int(),
  z.refine((p) => p === 1 || p === 5 || p === 10 || p === 30 || p % 60 === 0, {
    message: 'a CloudWatch period: 1, 5, 10, 30 or a multiple of 60 seconds',
  }),
);
const region = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'));

const MetricStatShape = {
  namespace: z.string().check(z.minLength(1), z.maxLength(255)),
  name: z.string().check(z.minLength(1), z.maxLength(255)),
  dimensions: z._default(z.record(z.string().check(z.minLength(1)), z.string().check(z.minLength(1))), {}),
  stat: z._default(cloudWatchStat, 'Average'),
};

export const CloudWatchMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('cloudwatch'),
    ...MetricStatShape,
    period: z._default(period, 60),
    /** How far back to look for the newest datapoint. Default: 5 periods. */
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .register(z.globalRegistry, { description: 'One CloudWatch metric.' });

export const CloudWatchExpression = z
  .strictObject({
    id: metricId,
    source: z.literal('cloudwatch'),
    /** A CloudWatch metric math expression over the metrics in `using`, e.g. `m1 + m2`. */
    expression: z.string().check(
      z.minLength(1),
      z.maxLength(2048),
      // Batched with other policies' queries, METRICS() would take theirs in too; SEARCH() gives several series, not one value.
      z.refine((e) => !/\b(METRICS|SEARCH)\s*\(/i.test(e), 'METRICS() and SEARCH() are not supported (one call batches many policies, and one value is needed): name the metrics in `using` and refer to them by id'),
    ),
    using: z._default(z.record(metricId, z.strictObject(MetricStatShape)), {}),
    period: z._default(period, 60),
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .register(z.globalRegistry, { description: 'A CloudWatch metric math expression.' });

export const ElastiCacheMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('elasticache'),
    replicationGroupId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    cacheClusterId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    /** Per-node CloudWatch metric in AWS/ElastiCache, e.g. CurrItems, CurrConnections, EngineCPUUtilization. */
    name: z.string().check(z.minLength(1), z.maxLength(255)),
    stat: z._default(cloudWatchStat, 'Average'),
    /** How the per-node values combine. */
    aggregate: z._default(z.enum(['sum', 'average', 'max']), 'sum'),
    period: z._default(period, 60),
    lookbackSeconds: z.optional(positiveInt.check(z.maximum(86_400))),
    region: z.optional(region),
  })
  .check(
    z.refine((m) => (m.replicationGroupId === undefined) !== (m.cacheClusterId === undefined), {
      message: 'set exactly one of replicationGroupId or cacheClusterId',
    }),
  )
  .register(z.globalRegistry, { description: 'A per-node ElastiCache metric, aggregated over the nodes of a replication group or cluster.' });

export const HaproxyMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('haproxy'),
    /** Name of an HAProxy runtime API endpoint. */
    endpoint: name,
    backend: z.string().check(z.minLength(1), z.maxLength(255)),
    /** scur: current sessions, qcur: queued requests, rate: sessions per second, rtime: average response time (ms). */
    field: z.enum(['scur', 'qcur', 'rate', 'rtime']),
  })
  .register(z.globalRegistry, { description: 'A backend statistic from the HAProxy runtime API (show stat).' });

const readOnlyRedisCommands = ['LLEN', 'XLEN', 'ZCARD', 'SCARD', 'HLEN', 'STRLEN', 'GET', 'DBSIZE', 'PFCOUNT', 'ZCOUNT', 'LINDEX', 'HGET', 'XPENDING'] as const;
export const RedisMetric = z
  .strictObject({
    id: metricId,
    source: z.literal('redis'),
    /** Name of a Redis endpoint. */
    endpoint: name,
    /** Shorthand for `command: [LLEN, <list>]`. */
    list: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    /** A read-only command whose reply is an integer, e.g. `[ZCARD, jobs:delayed]`. */
    command: z.optional(z.tuple([z.enum(readOnlyRedisCommands)], z.string().check(z.maxLength(1024)))),
  })
  .check(z.refine((m) => (m.list === undefined) !== (m.command === undefined), { message: 'set exactly one of list or command' }))
  .register(z.globalRegistry, { description: 'A Redis list length or the integer result of a read-only command.' });

export const Metric = z.union([CloudWatchMetric, CloudWatchExpression, ElastiCacheMetric, HaproxyMetric, RedisMetric]);

// ---------------------------------------------------------------- rules

const stepPair = z.tuple([z.number().check(z.minimum(0)), nonNegativeInt]);
/** The seed's `CONDITIONS="0=1 1000=2 2000=3"`: `threshold=replicas` pairs separated by spaces. */
const stepsString = z
  .string()
  .check(z.regex(/^\s*\d+(\.\d+)?=\d+(\s+\d+(\.\d+)?=\d+)*\s*$/, 'threshold=replicas pairs separated by spaces, e.g. "0=1 1000=2 2000=3"'));

export function parseStepsString(conditions: string): Array<[number, number]> {
  return conditions
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const [threshold, replicas] = pair.split('=');
      return [Number(threshold), Number(replicas)] as [number, number];
    });
}

export const StepsRule = z
  .strictObject({
    type: z.literal('steps'),
    metric: metricId,
    /** `[threshold, replicas]` pairs, ascending by threshold: the replicas for the highest threshold the metric reaches. */
    steps: z
      .pipe(
        z.union([stepsString, z.array(stepPair).check(z.minLength(1), z.maxLength(100))]),
        z.transform((s) => (typeof s === 'string' ? parseStepsString(s) : s)),
      )
      .check(
        z.superRefine((steps, ctx) => {
          for (let i = 1; i < steps.length; i++) {
            if (steps[i]![0] <= steps[i - 1]![0]) {
              ctx.addIssue({
                code: 'custom',
                path: [i, 0],
                message: `thresholds must ascend: ${steps[i]![0]} follows ${steps[i - 1]![0]}`,
              });
            }
          }
        }),
      ),
  })
  .register(z.globalRegistry, { description: 'Exact replicas for the highest threshold the metric reaches (the seed’s CONDITIONS).' });

export const TargetRule = z
  .strictObject({
    type: z.literal('target'),
    metric: metricId,
    /** Desired = ceil(value / perReplica), as the HPA's AverageValue target. */
    perReplica: z.number().check(z.positive()),
    /**
     * Optional headroom for a rising load, a fraction of perReplica: when this rule scales out it
     * sizes for `perReplica × (1 − scaleUpHeadroom)` per replica, so one scale-out also covers the
     * next minutes of the rise. Scale-in still sizes for perReplica. Default 0 (as the HPA).
     */
    scaleUpHeadroom: z.optional(z.number().check(z.minimum(0), z.maximum(0.9))),
    /**
     * Optional scale-in on the recent peak, in seconds (60–3600): when the metric is below the
     * current capacity this rule looks at the highest reading of the last `scaleDownPeakSeconds`
     * (this one included) instead of the latest; it scales in only when that peak is outside the
     * scale-down tolerance, and then in one step to `ceil(peak / perReplica)`. A noisy load keeps
     * the replicas its recent bursts needed; a load that has really fallen is followed down at once,
     * without the tolerance-held recommendations that make an HPA scale-down window long. Uses
     * only readings already seen (kept in the behavior history). Default: off (as the HPA).
     */
    scaleDownPeakSeconds: z.optional(z.number().check(z.int(), z.minimum(60), z.maximum(3600))),
  })
  .register(z.globalRegistry, { description: 'Keep the metric per replica near a target value (HPA AverageValue).' });

export const StepAdjustment = z
  .strictObject({
    /** Lower bound, relative to the threshold (inclusive). Omit for negative infinity. */
    lower: z.optional(z.number()),
    /** Upper bound, relative to the threshold (exclusive). Omit for positive infinity. */
    upper: z.optional(z.number()),
    adjustment: z.number().check(z.int()),
  })
  .check(
    z.refine((a) => a.lower === undefined || a.upper === undefined || a.lower < a.upper, {
      message: 'lower must be below upper',
    }),
  );

export const StepAdjustRule = z
  .strictObject({
    type: z.literal('stepAdjust'),
    /** The metric to compare with `threshold` when not triggered by an alarm (an alarm brings its own value and threshold). */
    metric: z.optional(metricId),
    threshold: z.optional(z.number()),
    adjustmentType: z._default(z.enum(['ChangeInCapacity', 'ExactCapacity', 'PercentChangeInCapacity']), 'ChangeInCapacity'),
    adjustments: z.array(StepAdjustment).check(z.minLength(1), z.maxLength(20)),
    /** With PercentChangeInCapacity: the smallest change in replicas. */
    minAdjustmentMagnitude: z.optional(positiveInt),
    /** AWS cooldown: after a scale-out, only larger scale-outs; no scale-in until it ends. */
    cooldownSeconds: z._default(nonNegativeInt.check(z.maximum(86_400)), 300),
  })
  .check(
    z.superRefine((rule, ctx) => {
      if ((rule.metric === undefined) !== (rule.threshold === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'set metric and threshold together (or neither, for alarm-only policies)' });
      }
      if (rule.minAdjustmentMagnitude !== undefined && rule.adjustmentType !== 'PercentChangeInCapacity') {
        ctx.addIssue({ code: 'custom', path: ['minAdjustmentMagnitude'], message: 'only allowed with adjustmentType PercentChangeInCapacity' });
      }
    }),
  )
  .register(z.globalRegistry, { description: 'AWS Application Auto Scaling step scaling, for alarm-driven policies.' });

export const Rule = z.discriminatedUnion('type', [StepsRule, TargetRule, StepAdjustRule]);

// ---------------------------------------------------------------- behavior (Kubernetes HPA v2, field for field)

export const ScalingPolicy = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: positiveInt,
  periodSeconds: positiveInt.check(z.maximum(1800)),
});

const scalingRules = (defaults: { window: number; policies: Array<z.infer<typeof ScalingPolicy>> }) =>
  z.strictObject({
    stabilizationWindowSeconds: z._default(nonNegativeInt.check(z.maximum(3600)), defaults.window),
    selectPolicy: z._default(z.enum(['Max', 'Min', 'Disabled']), 'Max'),
    policies: z._default(z.array(ScalingPolicy).check(z.minLength(1), z.maxLength(10)), defaults.policies),
    /**
     * Optional, as Kubernetes 1.33's per-direction HPA tolerance (KEP-4951): target rules change
     * replicas in this direction only when the usage ratio is beyond 1 ± this value. Default: `behavior.tolerance`.
     */
    tolerance: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
  });

const scaleUpDefaults = {
  window: 0,
  policies: [
    { type: 'Pods' as const, value: 4, periodSeconds: 15 },
    { type: 'Percent' as const, value: 100, periodSeconds: 15 },
  ],
};
const scaleDownDefaults = { window: 300, policies: [{ type: 'Percent' as const, value: 100, periodSeconds: 15 }] };
const ScaleUpRules = scalingRules(scaleUpDefaults);
const ScaleDownRules = scalingRules(scaleDownDefaults);

export const Behavior = z.strictObject({
  scaleUp: z._default(ScaleUpRules, ScaleUpRules.parse({})),
  scaleDown: z._default(ScaleDownRules, ScaleDownRules.parse({})),
  /** Changes whose ratio to the current usage is within this fraction are ignored (target rules). */
  tolerance: z._default(z.number().check(z.minimum(0), z.maximum(1)), 0.1),
});

// ---------------------------------------------------------------- load balancers

export const HaproxyLoadBalancer = z.strictObject({
  type: z.literal('haproxy'),
  /** Name of an HAProxy runtime API endpoint. */
  endpoint: name,
  backend: z.string().check(z.minLength(1), z.maxLength(255)),
  /** The container port HAProxy sends traffic to. */
  port: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
  /** Longest wait for a draining server's sessions to reach 0. */
  drainTimeoutSeconds: z._default(nonNegativeInt.check(z.maximum(3600)), 30),
});
export const TraefikLoadBalancer = z.strictObject({ type: z.literal('traefik') });
export const NginxLoadBalancer = z.strictObject({
  type: z.literal('nginx'),
  /** Name of the nginx container on the same Docker endpoint. */
  container: name,
  upstream: z.string().check(z.regex(/^[A-Za-z0-9_]+$/, 'an nginx upstream name')),
  file: z.string().check(z.regex(/^\/[^\0]*\.conf$/, 'an absolute path ending in .conf')),
  port: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
});
export const LoadBalancer = z.discriminatedUnion('type', [HaproxyLoadBalancer, TraefikLoadBalancer, NginxLoadBalancer]);

// ---------------------------------------------------------------- the policy

export const OnMissingMetric = z.union([z.literal('hold'), z.strictObject({ value: z.number() })]);

export const Policy = z
  .strictObject({
    id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits and . _ - only'), z.maxLength(128)),
    description: z.optional(z.string().check(z.maxLength(1024))),
    enabled: z._default(z.boolean(), true),
    /** Decide and audit, never act (the seed's ACTIVE_SCALE=false). */
    dryRun: z._default(z.boolean(), false),
    target: Target,
    capacity: z
      .strictObject({ min: nonNegativeInt.check(z.maximum(10_000)), max: positiveInt.check(z.maximum(10_000)) })
      .check(
        z.superRefine((c, ctx) => {
          if (c.min > c.max) ctx.issues.push({ code: 'custom', message: `min ${c.min} is above max ${c.max}`, path: ['min'], input: c.min });
        }),
      ),
    metrics: z.array(Metric).check(z.minLength(1), z.maxLength(20)),
    /** One rule, or several: the largest desired replica count wins (as the HPA with several metrics). */
    rule: z.union([Rule, z.array(Rule).check(z.minLength(1), z.maxLength(10))]),
    behavior: z._default(Behavior, Behavior.parse({})),
    onMissingMetric: z._default(OnMissingMetric, 'hold'),
    suspend: z._default(
      z.strictObject({ scaleIn: z._default(z.boolean(), false), scaleOut: z._default(z.boolean(), false) }),
      { scaleIn: false, scaleOut: false },
    ),
    /** CloudWatch alarm names that trigger this policy. */
    alarms: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(50)), []),
    loadBalancer: z.optional(LoadBalancer),
    availability: z._default(
      z.strictObject({ restartStopped: z._default(z.boolean(), true), recreateRemoved: z._default(z.boolean(), true) }),
      { restartStopped: true, recreateRemoved: true },
    ),
  })
  .check(
    z.superRefine((policy, ctx) => {
      const ids = new Set<string>();
      policy.metrics.forEach((m, i) => {
        if (ids.has(m.id)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'id'], message: `duplicate metric id "${m.id}"` });
        ids.add(m.id);
      });
      const rules = Array.isArray(policy.rule) ? policy.rule : [policy.rule];
      rules.forEach((rule, i) => {
        const path = Array.isArray(policy.rule) ? ['rule', i, 'metric'] : ['rule', 'metric'];
        if (rule.metric !== undefined && !ids.has(rule.metric)) {
          ctx.addIssue({ code: 'custom', path, message: `names metric "${rule.metric}", which is not in metrics (have: ${[...ids].join(', ') || 'none'})` });
        }
        if (rule.type === 'stepAdjust' && rule.metric === undefined && policy.alarms.length === 0) {
          ctx.addIssue({ code: 'custom', path: path.slice(0, -1), message: 'a stepAdjust rule without metric/threshold needs at least one alarm in alarms' });
        }
      });
      if (policy.loadBalancer && policy.target.type !== 'docker') {
        ctx.addIssue({ code: 'custom', path: ['loadBalancer'], message: 'load balancers are kept in step for docker targets only' });
      }
    }),
  );

export type Policy = z.output<typeof Policy>;
export type PolicyInput = z.input<typeof Policy>;
export type Target = z.output<typeof Target>;
export type DockerTarget = z.output<typeof DockerTarget>;
export type KubernetesTarget = z.output<typeof KubernetesTarget>;
export type Metric = z.output<typeof Metric>;
export type CloudWatchMetric = z.output<typeof CloudWatchMetric>;
export type CloudWatchExpression = z.output<typeof CloudWatchExpression>;
export type ElastiCacheMetric = z.output<typeof ElastiCacheMetric>;
export type HaproxyMetric = z.output<typeof HaproxyMetric>;
export type RedisMetric = z.output<typeof RedisMetric>;
export type Rule = z.output<typeof Rule>;
export type StepsRule = z.output<typeof StepsRule>;
export type TargetRule = z.output<typeof TargetRule>;
export type StepAdjustRule = z.output<typeof StepAdjustRule>;
export type Behavior = z.output<typeof Behavior>;
export type ScalingPolicy = z.output<typeof ScalingPolicy>;
export type LoadBalancer = z.output<typeof LoadBalancer>;
export type HaproxyLoadBalancer = z.output<typeof HaproxyLoadBalancer>;
export type NginxLoadBalancer = z.output<typeof NginxLoadBalancer>;

/** The rules of a policy as a list, whichever form it was written in. */
export function rulesOf(policy: Pick<Policy, 'rule'>): Rule[] {
  return Array.isArray(policy.rule) ? policy.rule : [policy.rule];
}

/** A stable key naming a target across policies, used by leases and the audit. */
export function targetKey(target: Target): string {
  return target.type === 'docker'
    ? `docker/${target.endpoint}/${target.service}`
    : `kubernetes/${target.cluster}/${target.namespace}/${target.kind}/${target.name}`;
}
