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

import { loadBalancerCatalog, metricSourceCatalog, targetCatalog } from '../plugins/catalog.ts';
import { metricId, nonNegativeInt, positiveInt } from './fields.ts';

// ---------------------------------------------------------------- targets

// Each plug-in's schema lives in its folder (shared/plugins/<kind>/<name>/descriptor.ts); the unions come from the catalog.
// The schemas of the plug-ins that predate the catalog are re-exported here for their importers; new ones need not be.
import { DockerTarget } from '../plugins/targets/docker/descriptor.ts';
import { KubernetesTarget } from '../plugins/targets/kubernetes/descriptor.ts';

export { expressionIds } from '../plugins/metrics/cloudwatch/descriptor.ts';
export { CloudWatchExpression, CloudWatchMetric, DockerTarget, ElastiCacheMetric, HaproxyLoadBalancer, HaproxyMetric, KubernetesTarget, NginxLoadBalancer, RedisMetric, TraefikLoadBalancer };

type TargetSchema = (typeof targetCatalog)[number]['schema'];
export const Target = z.discriminatedUnion('type', targetCatalog.map((d) => d.schema) as unknown as [TargetSchema, ...TargetSchema[]]);

// ---------------------------------------------------------------- metrics

import { CloudWatchExpression, CloudWatchMetric } from '../plugins/metrics/cloudwatch/descriptor.ts';
import { ElastiCacheMetric } from '../plugins/metrics/elasticache/descriptor.ts';
import { HaproxyMetric } from '../plugins/metrics/haproxy/descriptor.ts';
import { RedisMetric } from '../plugins/metrics/redis/descriptor.ts';

type MetricSchema = (typeof metricSourceCatalog)[number]['schemas'][number];
export const Metric = z.union((metricSourceCatalog as readonly { schemas: readonly MetricSchema[] }[]).flatMap((d) => d.schemas) as unknown as [MetricSchema, ...MetricSchema[]]);

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

/** One period at whose phase past sharp rises are remembered (an envelope rule's `bursts`). */
export const BurstPeriod = z.strictObject({
  /** The period, in seconds (5 minutes to 7 days): a rise seen at phase φ is expected again at φ one period later. */
  periodSeconds: z.number().check(z.int(), z.minimum(300), z.maximum(7 * 86_400)),
  /** How many periods a rise is remembered (its TTL is periodSeconds × remember). */
  remember: z.number().check(z.int(), z.minimum(1), z.maximum(1000)),
});

export const EnvelopeRule = z
  .strictObject({
    type: z.literal('envelope'),
    metric: metricId,
    /** C: the metric's value one replica serves at full utilisation. Every other parameter is relative to it or dimensionless. */
    perReplica: z.number().check(z.positive()),
    /** Level: replicas for `mean + z × deviation` of the recent values. The mean's window, seconds. */
    meanSeconds: z._default(z.number().check(z.int(), z.minimum(60), z.maximum(7200)), 1800),
    /** The standard deviation's window, seconds (longer than the mean's: noise is a slower property than the load). */
    deviationSeconds: z._default(z.number().check(z.int(), z.minimum(60), z.maximum(7200)), 3600),
    /** Deviations above the mean to provision for: higher covers more noise, costs replica-minutes. */
    z: z._default(z.number().check(z.minimum(0), z.maximum(10)), 2.5),
    /** Rise guard: the recent maximum (this window, seconds) is served at this utilisation of C. */
    peakSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(3600)), 300),
    peakUtilization: z._default(z.number().check(z.minimum(0.1), z.maximum(1)), 0.85),
    /** Periods at whose phase sharp rises are remembered and pre-scaled for; empty: no burst memory. */
    bursts: z._default(z.array(BurstPeriod).check(z.maxLength(4)), []),
    /** A value counts as a sharp rise when it is at least this many times the lower of the two values before it… */
    burstMinRatio: z._default(z.number().check(z.minimum(1), z.maximum(100)), 2),
    /** …and above it by at least this many recent standard deviations (so noise never counts). */
    burstMinSigmas: z._default(z.number().check(z.minimum(0), z.maximum(100)), 10),
    /** Pre-scale for a phase once at least this many remembered rises fall on it (1: any rise seen once). */
    burstMinRepeats: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(100)), 2),
    /** Pre-scale this long before a remembered rise's phase (covers the metric's lag and a replica's startup). */
    burstLeadSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(3600)), 60),
    /** …and keep the pre-scaling this long after it (until the reactive part has seen the rise). */
    burstHoldSeconds: z._default(z.number().check(z.int(), z.minimum(0), z.maximum(3600)), 0),
  })
  .register(z.globalRegistry, {
    description: 'Noise- and burst-aware: recent mean + z deviations, a guard for rises, and pre-scaling for sharp rises remembered at their phase of a period.',
  });

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

export const Rule = z.discriminatedUnion('type', [StepsRule, TargetRule, StepAdjustRule, EnvelopeRule]);

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

import { HaproxyLoadBalancer } from '../plugins/loadbalancers/haproxy/descriptor.ts';
import { TraefikLoadBalancer } from '../plugins/loadbalancers/traefik/descriptor.ts';
import { NginxLoadBalancer } from '../plugins/loadbalancers/nginx/descriptor.ts';

type LoadBalancerSchema = (typeof loadBalancerCatalog)[number]['schema'];
export const LoadBalancer = z.discriminatedUnion('type', loadBalancerCatalog.map((d) => d.schema) as unknown as [LoadBalancerSchema, ...LoadBalancerSchema[]]);

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
      const capabilities = targetCatalog.find((d) => d.type === policy.target.type)?.capabilities;
      if (policy.loadBalancer && !capabilities?.members) {
        ctx.addIssue({ code: 'custom', path: ['loadBalancer'], message: `load balancers are kept in step for ${targetCatalog.filter((d) => d.capabilities.members).map((d) => d.type).join(', ')} targets only` });
      } else if (policy.loadBalancer && capabilities && !capabilities.containers && loadBalancerCatalog.find((d) => d.type === policy.loadBalancer!.type && 'needs' in d && d.needs.containers)) {
        const withContainers = targetCatalog.filter((d) => d.capabilities.containers).map((d) => d.type).join(', ');
        ctx.addIssue({ code: 'custom', path: ['loadBalancer', 'type'], message: `"${policy.loadBalancer.type}" reaches into containers on the target's host, which a ${policy.target.type} target does not offer; allowed with ${withContainers} targets` });
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
export type EnvelopeRule = z.output<typeof EnvelopeRule>;
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
  const descriptor = targetCatalog.find((d) => d.type === target.type)!;
  return (descriptor.key as (t: Target) => string)(target);
}
