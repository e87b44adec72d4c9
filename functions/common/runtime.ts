/**
 * What both handlers share: the logger, the metrics, and the stores and configuration, created once
 * per warm container. Handlers stay thin: parse the event → pick policies → evaluate → log/metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { buildRecord } from '../../shared/audit/build.ts';
import type { AuditRecord } from '../../shared/audit/record.ts';
import { ceilingFromEnvironment, endpointsFromLambdaEnvironment } from '../../shared/aws/environment.ts';
import { evaluate } from '../../shared/evaluate/evaluate.ts';
import { policiesForTrigger } from '../../shared/evaluate/policies.ts';
import { isInvalid, type EvaluationTrigger, type SelectedPolicy, type StoredPolicy } from '../../shared/evaluate/types.ts';
import { defaultRegistry } from '../../shared/plugins/registry.ts';
import { metricDimensions, metricNames, metricNamespace, metricServiceName } from '../../shared/observability/metric-names.ts';
import { targetKey } from '../../shared/policy/schema.ts';
import { storesFromEnvironment, type Stores } from '../../shared/state/client.ts';

/** The Secrets Manager client loads on the first secret read (TLS material, passwords), not at every cold start. */
const getSecret = async (secretId: string): Promise<string> => (await import('../../shared/aws/secrets.ts')).getSecret(secretId);

export const logger = new Logger({ serviceName: 'autoscaler' });
export const metrics = new Metrics({ namespace: metricNamespace, serviceName: metricServiceName });

interface Runtime {
  readonly stores: Stores;
  readonly endpoints: ReturnType<typeof endpointsFromLambdaEnvironment>;
  readonly ceiling: number;
}

let runtime: Runtime | undefined;

/** Built on first use (not at import), so a configuration error fails the invocation with its message. */
export function getRuntime(): Runtime {
  runtime ??= {
    // The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself: the same code runs against dynalite.
    stores: storesFromEnvironment(process.env, new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 5 })),
    endpoints: endpointsFromLambdaEnvironment(),
    ceiling: ceilingFromEnvironment(),
  };
  return runtime;
}

/** For tests that change the environment between invocations. */
export function resetRuntime(): void {
  runtime = undefined;
}

export interface EvaluationSummary {
  readonly policies: number;
  readonly records: number;
  readonly actions: number;
  readonly failures: number;
}

/** Evaluates the trigger's policies and emits the metrics; returns a summary for the log and the caller. */
export async function runTrigger(trigger: EvaluationTrigger, context: Context, preselected?: readonly SelectedPolicy[]): Promise<EvaluationSummary> {
  const started = Date.now();
  const { stores, endpoints, ceiling } = getRuntime();
  const policies = preselected ?? (await policiesForTrigger(trigger, stores.policies));
  if (policies.length === 0) {
    logger.info('no policy to evaluate', { trigger: { type: trigger.type, alarmName: trigger.alarmName } });
    return { policies: 0, records: 0, actions: 0, failures: 0 };
  }
  const { records } = await evaluate(policies, trigger, stores, {
    registry: defaultRegistry,
    endpoints,
    ceiling,
    owner: context.awsRequestId,
    getSecret,
    log: (message) => logger.warn(message),
  });
  const summary = summarize(policies.length, records);
  record(records, Date.now() - started);
  logger.info('evaluation done', { summary, records: records.map(brief) });
  return summary;
}

function summarize(policies: number, records: readonly AuditRecord[]): EvaluationSummary {
  return {
    policies,
    records: records.length,
    actions: records.filter((r) => r.status === 'Successful' && r.action !== 'none').length,
    failures: records.filter((r) => r.status === 'Failed').length,
  };
}

function brief(r: AuditRecord) {
  return { policy: r.policyId, target: r.target, action: r.action, status: r.status, from: r.currentReplicas, to: r.desiredReplicas, notScaledReason: r.notScaledReason, error: r.error };
}

/**
 * EMF metrics, per target with the dimension set {service, target} that the dashboard searches
 * (shared/observability/metric-names.ts): Decisions, Actions, Failures, DurationMs, Replicas, MetricValue.
 */
export function emitEvaluationMetrics(records: readonly AuditRecord[], durationMs: number): void {
  record(records, durationMs);
}

function record(records: readonly AuditRecord[], durationMs: number): void {
  // Custom metrics are billed per metric-month (each name × dimension set), so per target only what
  // the dashboard draws per target: Replicas and MetricValue always, Actions and Failures in the
  // hours they happen; Decisions and DurationMs are totals (docs/deploy.md, "Cost").
  total(metricNames.decisions, MetricUnit.Count, records.length);
  total(metricNames.durationMs, MetricUnit.Milliseconds, durationMs);
  const byTarget = new Map<string, AuditRecord[]>();
  for (const r of records) byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
  for (const [target, list] of byTarget) {
    const t = summarize(0, list);
    if (t.actions > 0) emit(target, metricNames.actions, MetricUnit.Count, t.actions);
    if (t.failures > 0) emit(target, metricNames.failures, MetricUnit.Count, t.failures);
    const last = list.at(-1)!;
    const replicas = last.status === 'Successful' && last.action !== 'none' ? last.desiredReplicas : last.currentReplicas;
    if (replicas !== null) emit(target, metricNames.replicas, MetricUnit.Count, replicas);
    for (const input of last.inputs) if (input.value !== null) emit(target, metricNames.metricValue, MetricUnit.NoUnit, input.value, input.metric);
  }
}

/** A metric over all targets (dimension `service` only). */
function total(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void {
  metrics.singleMetric().addMetric(name, unit, value);
}

/** One EMF blob per value: a single metric keeps its own dimension set. */
function emit(target: string, name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, metricId?: string): void {
  const single = metrics.singleMetric();
  single.addDimension(metricDimensions.target, target);
  if (metricId !== undefined) single.addDimension(metricDimensions.metric, metricId);
  single.addMetric(name, unit, value);
}

/** Audits each policy as not acted on, without evaluating it (an alarm in INSUFFICIENT_DATA). */
export async function auditNotActed(selected: readonly SelectedPolicy[], trigger: EvaluationTrigger, reason: string): Promise<AuditRecord[]> {
  const { stores } = getRuntime();
  const at = new Date().toISOString();
  const written: AuditRecord[] = [];
  for (const { policy, version } of selected.filter((s): s is StoredPolicy => !isInvalid(s))) {
    if (!policy.enabled) continue;
    const record = buildRecord({
      policyId: policy.id,
      policyVersion: version,
      target: targetKey(policy.target),
      trigger,
      action: 'none',
      status: 'NotScaled',
      notScaledReason: 'AlarmInsufficientData',
      reason,
      startedAt: at,
      endedAt: at,
    });
    await stores.audit.put(record);
    written.push(record);
  }
  total(metricNames.decisions, MetricUnit.Count, written.length);
  return written;
}

/** Runs a handler body with correlation ids in every log line, and always flushes the metrics. */
export async function withTelemetry<T>(context: Context, correlationId: string | undefined, body: () => Promise<T>): Promise<T> {
  logger.addContext(context);
  logger.appendKeys({ correlation_id: correlationId ?? context.awsRequestId });
  try {
    return await body();
  } catch (error) {
    logger.error('invocation failed', error as Error);
    throw error;
  } finally {
    // Only the per-target single metrics are emitted; nothing is left stored, so nothing to warn about.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    logger.removeKeys(['correlation_id']);
  }
}
