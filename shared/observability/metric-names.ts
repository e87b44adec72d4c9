/**
 * The CloudWatch metrics the functions emit (Embedded Metric Format) and the dashboard reads.
 * One truth for both sides: the handlers import these names, and infra/ builds its SEARCH
 * expressions from them, so a renamed metric cannot silently empty the dashboard.
 *
 * How to emit (Powertools Metrics, which always adds a `service` dimension):
 *
 *   const metrics = new Metrics({ namespace: metricNamespace, serviceName: metricServiceName });
 *   const single = metrics.singleMetric();                 // one dimension set per target
 *   single.addDimension(metricDimensions.target, record.target);
 *   single.addMetric(metricNames.replicas, MetricUnit.Count, record.desiredReplicas);
 *
 * Per-target metrics (Replicas, Actions, Failures) carry exactly the dimensions `service` and
 * `target` (in that set); `MetricValue` carries `service`, `target` and `metric` (the policy's
 * metric id); the totals (Decisions, DurationMs) carry `service` only. The dashboard's
 * SEARCH expressions match these dimension sets exactly: a metric emitted with other dimensions
 * does not appear there.
 */
export const metricNamespace = 'Autoscaler';

/** Value of the `service` dimension (Powertools' `serviceName`). */
export const metricServiceName = 'autoscaler';

export const metricDimensions = {
  service: 'service',
  /** The target key (`targetKey` in shared/policy/schema.ts), e.g. `docker/edge-1/web`. */
  target: 'target',
  /** The id of the policy metric that drove the decision (only on `MetricValue`). */
  metric: 'metric',
} as const;

export const metricNames = {
  /** Count, total over targets: one per policy decided (any status). */
  decisions: 'Decisions',
  /** Count, per target, emitted only when non-zero: actions taken (scale out/in, restart, recreate); dry runs are not actions. */
  actions: 'Actions',
  /** Count, per target, emitted only when non-zero: evaluations of the target that ended Failed. */
  failures: 'Failures',
  /** Milliseconds, total: how long one invocation's evaluation took. */
  durationMs: 'DurationMs',
  /** Count: the target's replicas after the evaluation (desired replicas when acted, else current). */
  replicas: 'Replicas',
  /** None: the value of the metric that drove the decision, as read (dimension `metric` = its id). */
  metricValue: 'MetricValue',
  /** Count, total: shards one schedule tick was cut into (the dispatcher emits it; 1 when evaluated in-process). */
  shards: 'Shards',
  /** Count, total: shard messages dropped as older than one schedule interval (the next tick re-reads everything). */
  staleShards: 'StaleShards',
  /** Milliseconds, total: from the schedule tick to a shard's last audit record; its Maximum per minute is the tick's duration. */
  tickDurationMs: 'TickDurationMs',
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

/** The dimension names of per-target metrics, as a CloudWatch search schema lists them. */
export const targetDimensionSet = [metricDimensions.service, metricDimensions.target] as const;

/** The dimension names of `MetricValue`. */
export const metricValueDimensionSet = [metricDimensions.service, metricDimensions.target, metricDimensions.metric] as const;
