/**
 * One scenario for the handler tests and the bundle tests: dynalite (real) with the tables, a local
 * fake Kubernetes API server, a local fake CloudWatch endpoint, the environment the CDK stack sets,
 * two policies, and sample events.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { startDynalite, type RunningDynalite } from '../../shared/local/dynalite.ts';
import { Policy } from '../../shared/policy/schema.ts';
import { documentClient, localClient, storesFor, type Stores } from '../../shared/state/client.ts';
import { createTables } from '../../shared/state/create.ts';
import { localTableNames } from '../../shared/state/tables.ts';
import { startFakeKubernetes, type FakeKubernetes } from '../kubernetes/fake-api.ts';
import { startFakeCloudWatch, type FakeCloudWatch } from './fake-cloudwatch.ts';

export interface Scenario {
  readonly dynalite: RunningDynalite;
  readonly kubernetes: FakeKubernetes;
  readonly cloudWatch: FakeCloudWatch;
  readonly stores: Stores;
  close(): Promise<void>;
}

export const queuePolicy = Policy.parse({
  id: 'queue-workers',
  target: { type: 'kubernetes', cluster: 'local', namespace: 'workers', kind: 'Deployment', name: 'sidekiq' },
  capacity: { min: 1, max: 10 },
  metrics: [{ id: 'queue', source: 'cloudwatch', namespace: 'App', name: 'QueueDepth', dimensions: { Queue: 'default' } }],
  rule: { type: 'target', metric: 'queue', perReplica: 100 },
});

export const alarmPolicy = Policy.parse({
  id: 'api-alarm',
  target: { type: 'kubernetes', cluster: 'local', namespace: 'web', kind: 'Deployment', name: 'api' },
  capacity: { min: 1, max: 20 },
  metrics: [{ id: 'conns', source: 'cloudwatch', namespace: 'App', name: 'Connections' }],
  alarms: ['api-high'],
  rule: { type: 'stepAdjust', adjustments: [{ lower: 0, upper: 200, adjustment: 1 }, { lower: 200, adjustment: 2 }] },
});

const environmentKeys = [
  'POLICIES_TABLE', 'STATE_TABLE', 'AUDIT_TABLE', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_CLOUDWATCH', 'AWS_REGION',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AUTOSCALER_ENDPOINTS', 'AUTOSCALER_CEILING', 'POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_LOG_LEVEL',
] as const;

export async function startScenario(): Promise<Scenario> {
  const dynalite = await startDynalite();
  const client = localClient(dynalite.endpoint);
  await createTables(client, localTableNames);
  const stores = storesFor(documentClient(client), localTableNames);
  const kubernetes = await startFakeKubernetes();
  const cloudWatch = await startFakeCloudWatch();
  const saved = Object.fromEntries(environmentKeys.map((k) => [k, process.env[k]]));
  Object.assign(process.env, {
    POLICIES_TABLE: localTableNames.policies,
    STATE_TABLE: localTableNames.state,
    AUDIT_TABLE: localTableNames.audit,
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AUTOSCALER_ENDPOINTS: JSON.stringify({ kubernetes: { local: { kubeconfig: { path: kubernetes.kubeconfig('fake'), context: 'fake' } } } }),
    AUTOSCALER_CEILING: '50',
    // EMF lines would flood the test output; the metrics code still runs.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  return {
    dynalite,
    kubernetes,
    cloudWatch,
    stores,
    async close() {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      client.destroy();
      await Promise.all([dynalite.close(), kubernetes.close(), cloudWatch.close()]);
    },
  };
}

/** Puts the two policies and the starting replicas (sidekiq 2, api 3). */
export async function seed(scenario: Scenario): Promise<void> {
  const existing = new Map((await scenario.stores.policies.list()).map((r) => [r.policy.id, r]));
  for (const policy of [queuePolicy, alarmPolicy]) {
    const old = existing.get(policy.id);
    await scenario.stores.policies.put(policy, old?.version ?? 0, old?.policy.alarms ?? []);
  }
  scenario.kubernetes.objects.set('workers/deployments/sidekiq', { replicas: 2, resourceVersion: 1 });
  scenario.kubernetes.objects.set('web/deployments/api', { replicas: 3, resourceVersion: 1 });
  scenario.cloudWatch.values.set('QueueDepth', 500);
  scenario.cloudWatch.values.set('Connections', 750);
}

export function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'autoscaler-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:autoscaler-test',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/autoscaler-test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function scheduledEvent(id: string) {
  return { version: '0', id, 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012', time: '2026-11-23T14:00:00Z', region: 'us-east-1', resources: [], detail: {} };
}

export function snsAlarmEvent(messageId: string, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', alarmName = 'api-high', value = 750) {
  const message = {
    AlarmName: alarmName,
    AlarmDescription: null,
    AWSAccountId: '123456789012',
    NewStateValue: state,
    NewStateReason: state === 'INSUFFICIENT_DATA'
      ? 'Insufficient Data: 1 datapoint was unknown.'
      : `Threshold Crossed: 1 out of the last 1 datapoints [${value}.0 (23/11/26 14:00:00)] was greater than or equal to the threshold (500.0) (minimum 1 datapoint for OK -> ALARM transition).`,
    StateChangeTime: '2026-11-23T14:01:00.000+0000',
    Region: 'US East (N. Virginia)',
    OldStateValue: 'OK',
    Trigger: {
      MetricName: 'Connections', Namespace: 'App', StatisticType: 'Statistic', Statistic: 'AVERAGE', Unit: null,
      Dimensions: [{ value: 'api', name: 'Service' }], Period: 60, EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 500.0, TreatMissingData: 'missing',
    },
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:alarms:sub',
        Sns: {
          Type: 'Notification', MessageId: messageId, TopicArn: 'arn:aws:sns:us-east-1:123456789012:alarms', Subject: `ALARM: "${alarmName}"`,
          Message: JSON.stringify(message), Timestamp: '2026-11-23T14:01:00.000Z', SignatureVersion: '1', Signature: 'x', SigningCertUrl: 'x', UnsubscribeUrl: 'x', MessageAttributes: {},
        },
      },
    ],
  };
}

export function eventBridgeAlarmEvent(id: string, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', value = 750) {
  return {
    version: '0', id, 'detail-type': 'CloudWatch Alarm State Change', source: 'aws.cloudwatch', account: '123456789012', time: '2026-11-23T14:01:00Z', region: 'us-east-1',
    resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-high'],
    detail: {
      alarmName: 'api-high',
      state: {
        value: state,
        reason: `Threshold Crossed: 1 out of the last 1 datapoints [${value}.0 (23/11/26 14:00:00)] was greater than or equal to the threshold (500.0).`,
        reasonData: JSON.stringify({ version: '1.0', queryDate: '2026-11-23T14:01:00.000+0000', startDate: '2026-11-23T14:00:00.000+0000', statistic: 'Average', period: 60, recentDatapoints: [value], threshold: 500.0, evaluatedDatapoints: [{ timestamp: '2026-11-23T14:00:00.000+0000', sampleCount: 1.0, value }] }),
        timestamp: '2026-11-23T14:01:00.000+0000',
      },
      previousState: { value: 'OK', reason: '', timestamp: '2026-11-23T13:00:00.000+0000' },
      configuration: {
        metrics: [{ id: 'm1', metricStat: { metric: { namespace: 'App', name: 'Connections', dimensions: { Service: 'api' } }, period: 60, stat: 'Average' }, returnData: true }],
        description: 'api connections',
      },
    },
  };
}
