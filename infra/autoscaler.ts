/**
 * The `Autoscaler` construct: tables, the two functions, the schedule, the alarm topic, least-privilege
 * IAM, EKS access entries, a dashboard and operational alarms. Reusable in any stack:
 *
 *   new Autoscaler(this, 'Autoscaler', { eksClusters: [{ clusterName: 'prod', namespaces: ['workers'] }] });
 *
 * Every prop is optional; the defaults are documented on `AutoscalerProps`.
 */
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token, Validations, CfnOutput } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type * as z from 'zod/mini';
import { defaultInProcessMaxTargets } from '../shared/fanout/dispatcher.ts';
import { defaultShardSizing } from '../shared/fanout/shards.ts';
import type { Endpoints } from '../shared/config/endpoints.ts';
import { metricDimensions, metricNames, metricNamespace, metricServiceName, metricValueDimensionSet, targetDimensionSet } from '../shared/observability/metric-names.ts';
import { defaultAuditRetentionDays, specKeyEnvironment, tableDesigns, tableEnvironment, type TableDesign, type TableName } from '../shared/state/tables.ts';
import { bundling, handlerEntries } from './bundling.ts';
import { checkEndpoints } from './endpoints-check.ts';
import { pluginIamStatements } from '../shared/plugins/catalog.ts';
import type { IamContext } from '../shared/plugins/descriptor.ts';

/** The Kubernetes group the access entries put the function role in; examples/eks/rbac.yaml binds it. */
export const kubernetesScalerGroup = 'autoscaler-scalers';
/** The Kubernetes user name of the function role (in audit logs, and for `kubectl auth can-i --as`). */
export const kubernetesUserName = 'autoscaler';

export interface EksClusterAccess {
  /** The EKS cluster's name (its authentication mode must include API, for access entries). */
  readonly clusterName: string;
  /** Namespaces whose workloads the autoscaler may scale: apply examples/eks/rbac.yaml in each. */
  readonly namespaces: readonly string[];
}

export interface AutoscalerProps {
  /** How often every enabled policy is evaluated. Whole minutes, at least 1. @default Duration.minutes(1) */
  readonly schedule?: Duration;
  /** An existing SNS topic your CloudWatch alarms publish to. @default a new topic, KMS-encrypted, that only CloudWatch alarms of this account may publish to */
  readonly alarmTopic?: sns.ITopic;
  /** Put the functions in this VPC, to reach Docker hosts, HAProxy, Redis or ElastiCache on private addresses. @default no VPC (public endpoints only) */
  readonly vpc?: ec2.IVpc;
  /** The subnets for the functions, when `vpc` is set; they need a route to the AWS APIs (NAT or VPC endpoints). @default the VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Secrets Manager secrets the functions may read: Docker mutual-TLS material, Redis passwords. Only these. @default none */
  readonly secrets?: readonly secretsmanager.ISecret[];
  /**
   * The KMS key that seals recorded Docker container environments in the state table (envelope
   * encryption: the functions may only GenerateDataKey and Decrypt with it). @default a new key, rotated yearly
   */
  readonly specEncryptionKey?: kms.IKey;
  /** EKS clusters (and namespaces) the functions may scale in: access entries and eks:DescribeCluster on these only, in the stack's region (an endpoint naming another region is rejected at synth). @default none */
  readonly eksClusters?: readonly EksClusterAccess[];
  /** Regions whose ElastiCache clusters and replication groups policies may name (their `region`): describe is granted in these only. @default the stack's region */
  readonly elastiCacheRegions?: readonly string[];
  /** Named endpoints (shared/config/endpoints.ts): names and secret ids only, never a secret. Validated at synth. @default none */
  readonly endpoints?: z.input<typeof Endpoints>;
  /** Deployment-wide replica ceiling: no policy or label scales a target above it. @default 100 */
  readonly replicaCeiling?: number;
  /** Days an audit record is kept before DynamoDB's TTL removes it. @default 400 (shared/state/tables.ts) */
  readonly auditRetentionDays?: number;
  /** Retention of the functions' log groups. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the policies and state tables, the key and the log groups when removed from the stack. The audit table is always retained and protected from deletion. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Targets (target keys, e.g. `docker/edge-1/web`) that get their own dashboard row; all targets appear in the SEARCH graphs anyway. @default none */
  readonly dashboardTargets?: readonly string[];
  /** Where the operational alarms (function errors, dead letters) notify. Not the scaling topic. @default no action (the alarms show on the dashboard) */
  readonly operatorTopic?: sns.ITopic;
  /** Name of the dashboard. @default `${stackName}-autoscaler` */
  readonly dashboardName?: string;
  /**
   * Fan-out: how many worker Lambdas may evaluate shards at once (their reserved concurrency, taken
   * from the account's pool). A tick's shards are spread over this many workers. @default 50
   */
  readonly workerReservedConcurrency?: number;
  /** Fan-out: the most targets one worker evaluates (its time budget; README "Fan-out"). @default 100 */
  readonly maxTargetsPerShard?: number;
  /** Fan-out: up to this many targets, a tick is evaluated in the scheduled function itself, without the queue. @default 200 */
  readonly inProcessMaxTargets?: number;
}

const defaultCeiling = 100;
const defaultWorkerReservedConcurrency = defaultShardSizing.workers;
/** The worker's timeout; the shard queue's visibility timeout is 6× this (AWS's advice for SQS event sources). */
const workerTimeout = Duration.minutes(2);
const maxCeiling = 10_000;
/** Lambda's limit on all environment variables together is 4 KB; leave room for the others. */
const maxEndpointsJsonBytes = 3_000;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const eksClusterName = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

export class Autoscaler extends Construct {
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  /** The schedule tick: the fan-out dispatcher (evaluates in-process when the deployment is small). */
  readonly evaluateFunction: NodejsFunction;
  /** Evaluates one shard per SQS message from `shardQueue`. */
  readonly workerFunction: NodejsFunction;
  /** One message per shard of a tick; encrypted, with its own dead-letter queue. */
  readonly shardQueue: sqs.Queue;
  readonly shardDeadLetterQueue: sqs.Queue;
  /** The worker's role: what the function role may do, plus consuming the shard queue. */
  readonly workerRole: iam.Role;
  readonly alarmFunction: NodejsFunction;
  /** The role both functions run as (the principal of the EKS access entries). */
  readonly functionRole: iam.Role;
  /** Seals recorded Docker container environments (SPEC_KMS_KEY_ID of the functions). */
  readonly specEncryptionKey: kms.IKey;
  readonly alarmTopic: sns.ITopic;
  /** Failed schedule ticks, failed alarm invocations, undeliverable alarm notifications. */
  readonly deadLetterQueue: sqs.Queue;
  readonly scheduleRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;
  readonly operationalAlarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AutoscalerProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const schedule = checkSchedule(props.schedule ?? Duration.minutes(1));
    const ceiling = checkCeiling(props.replicaCeiling ?? defaultCeiling);
    const eksClusters = checkEksClusters(props.eksClusters ?? []);
    const secrets = props.secrets ?? [];
    const endpoints = checkEndpoints(props.endpoints ?? {}, {
      eksClusterNames: eksClusters.map((c) => c.clusterName),
      grantedSecretIds: grantedSecretIds(secrets),
      stackRegion: Token.isUnresolved(stack.region) ? undefined : stack.region,
    });
    const elastiCacheRegions = checkRegions('elastiCacheRegions', props.elastiCacheRegions);
    const endpointsJson = JSON.stringify(endpoints);
    if (Buffer.byteLength(endpointsJson) > maxEndpointsJsonBytes) {
      throw new Error(`endpoints: ${Buffer.byteLength(endpointsJson)} bytes of JSON, more than the ${maxEndpointsJsonBytes} that fit in the functions' environment (4 KB in all)`);
    }
    const auditRetentionDays = checkAuditRetention(props.auditRetentionDays ?? defaultAuditRetentionDays);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const workerConcurrency = checkWhole('workerReservedConcurrency', props.workerReservedConcurrency ?? defaultWorkerReservedConcurrency, 1, 1_000);
    const maxTargetsPerShard = checkWhole('maxTargetsPerShard', props.maxTargetsPerShard ?? defaultShardSizing.maxTargetsPerShard, 1, 1_000);
    const inProcessMaxTargets = checkWhole('inProcessMaxTargets', props.inProcessMaxTargets ?? defaultInProcessMaxTargets, 0, 1_000);

    // --- Tables, from the one design in shared/state/tables.ts ---
    this.tables = {
      policies: this.table('PoliciesTable', tableDesigns.policies, removalPolicy, false),
      state: this.table('StateTable', tableDesigns.state, removalPolicy, false),
      audit: this.table('AuditTable', tableDesigns.audit, RemovalPolicy.RETAIN, true),
    };

    // --- Dead letters: one queue, so one depth alarm covers every way an event can be lost ---
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of the functions, the schedule target and the alarm subscription; nothing consumes it, so it has no dead-letter queue of its own.');
    acknowledge(this.deadLetterQueue, 'Serverless-SQSRedrivePolicy', 'This queue is the terminal dead-letter queue; a redrive policy would need yet another queue that nothing reads.');

    // --- Fan-out shard queue: a message older than one schedule interval is stale (the worker drops
    // it), so keeping messages longer than an hour helps nothing; the DLQ keeps failures to inspect ---
    this.shardDeadLetterQueue = new sqs.Queue(this, 'FailedShards', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.shardDeadLetterQueue, 'AwsSolutions-SQS3', 'This queue is the dead-letter queue of the shard queue; nothing consumes it (an alarm watches its depth).');
    acknowledge(this.shardDeadLetterQueue, 'Serverless-SQSRedrivePolicy', 'This queue is the terminal dead-letter queue of the shard queue.');
    this.shardQueue = new sqs.Queue(this, 'ShardQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * workerTimeout.toSeconds()),
      retentionPeriod: Duration.hours(1),
      deadLetterQueue: { queue: this.shardDeadLetterQueue, maxReceiveCount: 3 },
    });

    // --- Roles: the dispatcher and the alarm function share one; the workers have their own, so
    // only they may consume the shard queue and only the dispatcher may send to it ---
    this.functionRole = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the scheduled dispatcher and the alarm function: reads policies, keeps state, writes the audit, scales the named targets, sends shards.',
    });
    this.workerRole = new iam.Role(this, 'WorkerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the fan-out workers: reads policies, keeps state, writes the audit, scales the named targets, consumes the shard queue.',
    });
    const role = this.functionRole;
    this.specEncryptionKey = props.specEncryptionKey ?? new kms.Key(this, 'SpecEncryptionKey', {
      description: 'Seals the environment of recorded Docker container specs in the autoscaler state table (envelope encryption).',
      enableKeyRotation: true,
      removalPolicy,
    });
    for (const r of [this.functionRole, this.workerRole]) {
      this.grantPermissions(r, secrets, eksClusters, endpoints, elastiCacheRegions);
      // Envelope encryption needs exactly these two: a data key to seal with, and unwrapping it to open.
      // Not grantEncryptDecrypt: that adds kms:Encrypt and kms:ReEncrypt*, which the functions never call.
      r.addToPolicy(new iam.PolicyStatement({ sid: 'SealRecordedSpecs', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.specEncryptionKey.keyArn] }));
      if (props.vpc) {
        // Lambda creates and deletes its network interfaces with these; the EC2 describe calls have no resource scope.
        r.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
        acknowledge(r, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]', 'AWS-maintained minimal policy for a Lambda function in a VPC (ENI create/describe/delete); ec2:DescribeNetworkInterfaces cannot be scoped to a resource.');
      }
    }
    // The dispatcher sends shards and nothing else (not grantSendMessages: no GetQueueAttributes/GetQueueUrl).
    role.addToPolicy(new iam.PolicyStatement({ sid: 'SendShards', actions: ['sqs:SendMessage'], resources: [this.shardQueue.queueArn] }));

    // --- Functions ---
    const environment: Record<string, string> = {
      [tableEnvironment.policies]: this.tables.policies.tableName,
      [tableEnvironment.state]: this.tables.state.tableName,
      [tableEnvironment.audit]: this.tables.audit.tableName,
      AUTOSCALER_ENDPOINTS: endpointsJson,
      AUTOSCALER_CEILING: String(ceiling),
      AUDIT_RETENTION_DAYS: String(auditRetentionDays),
      // A key ARN, not key material: the functions ask KMS for data keys with it.
      [specKeyEnvironment]: this.specEncryptionKey.keyArn,
      AUTOSCALER_METRICS_NAMESPACE: metricNamespace,
      SHARD_QUEUE_URL: this.shardQueue.queueUrl,
      SCHEDULE_INTERVAL_SECONDS: String(schedule.toSeconds()),
      FANOUT_WORKERS: String(workerConcurrency),
      FANOUT_MAX_TARGETS_PER_SHARD: String(maxTargetsPerShard),
      FANOUT_IN_PROCESS_MAX_TARGETS: String(inProcessMaxTargets),
      POWERTOOLS_SERVICE_NAME: metricServiceName,
      // Stack traces point at the TypeScript sources (the bundles ship their source maps).
      NODE_OPTIONS: '--enable-source-maps',
    };
    const securityGroups = props.vpc
      ? [new SecurityGroup(this, 'FunctionSecurityGroup', { vpc: props.vpc, description: 'Autoscaler functions: outbound only (Docker, HAProxy, Redis, AWS APIs)', allowAllOutbound: true })]
      : undefined;
    const common = { role, environment, vpc: props.vpc, vpcSubnets: props.vpc ? props.vpcSubnets : undefined, securityGroups, removalPolicy, logRetention };

    // Evaluate: every tick, all enabled policies. Each target's deadline follows from its policy
    // (shared/reconcile/deadline.ts: 30 s read + 60 s + the longest action the schema allows, at most
    // 810 s), so the function gets Lambda's maximum, 900 s: a slow-starting service can finish its
    // action instead of being cut off. 100 ordinary targets still take seconds; an overlap with the
    // next tick is safe (each target acts under a lease, each tick once per target).
    // 512 MB: I/O bound, but CPU scales with memory and TLS handshakes to Docker hosts need some.
    this.evaluateFunction = this.function('EvaluateFunction', handlerEntries.evaluate, 'On the schedule: shards the enabled policies onto the shard queue (or evaluates a small deployment itself).', {
      ...common,
      timeout: Duration.seconds(900),
      memorySize: 512,
      // A failed tick is not retried: the next tick, a minute later, re-reads every metric anyway.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
    });
    // Alarm: only the policies bound to one alarm, usually one target, whose deadline follows from its
    // policy as above (at most 810 s): 900 s, like the evaluate function. Retried twice (Lambda's default) within
    // 15 minutes; older notifications are stale, and the schedule has re-evaluated since.
    this.alarmFunction = this.function('AlarmFunction', handlerEntries.alarm, 'Evaluates the policies bound to a CloudWatch alarm when it changes state.', {
      ...common,
      timeout: Duration.seconds(900),
      memorySize: 512,
      retryAttempts: 2,
      maxEventAge: Duration.minutes(15),
    });

    // --- Schedule ---
    // Worker: one shard per invocation, so each shard gets the whole timeout (3 × 30 s per-target
    // limit, shared/fanout/config.ts); reserved concurrency caps what a tick takes from the account.
    this.workerFunction = this.function('WorkerFunction', handlerEntries.worker, 'Evaluates one shard of a schedule tick per message of the shard queue.', {
      ...common,
      role: this.workerRole,
      timeout: workerTimeout,
      memorySize: 512,
      // An SQS event source retries through the queue (visibility, DLQ), not through async-invoke retries.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      reservedConcurrentExecutions: workerConcurrency,
    });
    this.workerFunction.addEventSource(
      new SqsEventSource(this.shardQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        // Pollers never outnumber the reserved concurrency (throttled receives would count toward the DLQ).
        maxConcurrency: Math.max(2, workerConcurrency),
      }),
    );
    acknowledge(this.workerFunction, 'Serverless-LambdaEventSourceMappingDestination', 'An SQS event source mapping takes no on-failure destination (that is for stream and Kafka sources); a shard that fails three times moves to the shard dead-letter queue through the queue\'s redrive policy, and an alarm watches it.');

    this.scheduleRule = new events.Rule(this, 'Schedule', {
      description: `Evaluates every enabled autoscaler policy every ${schedule.toMinutes()} minute(s).`,
      schedule: events.Schedule.rate(schedule),
      targets: [
        new eventsTargets.LambdaFunction(this.evaluateFunction, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 2,
          // A tick older than one period is superseded by the next one.
          maxEventAge: schedule.toSeconds() >= 60 ? schedule : Duration.minutes(1),
        }),
      ],
    });

    // --- Alarm topic ---
    this.alarmTopic = props.alarmTopic ?? this.newAlarmTopic(removalPolicy);
    this.alarmTopic.addSubscription(new LambdaSubscription(this.alarmFunction, { deadLetterQueue: this.deadLetterQueue }));

    // --- EKS access entries: the role joins a Kubernetes group that RBAC binds per namespace ---
    for (const cluster of eksClusters) {
      new eks.CfnAccessEntry(this, `AccessEntry-${cluster.clusterName}`, {
        clusterName: cluster.clusterName,
        principalArn: role.roleArn,
        kubernetesGroups: [kubernetesScalerGroup],
        username: kubernetesUserName,
        type: 'STANDARD',
      });
      new eks.CfnAccessEntry(this, `WorkerAccessEntry-${cluster.clusterName}`, {
        clusterName: cluster.clusterName,
        principalArn: this.workerRole.roleArn,
        kubernetesGroups: [kubernetesScalerGroup],
        username: kubernetesUserName,
        type: 'STANDARD',
      });
      new CfnOutput(this, `RbacNamespaces-${cluster.clusterName}`, {
        description: `Apply examples/eks/rbac.yaml (group ${kubernetesScalerGroup}) in each of these namespaces of cluster ${cluster.clusterName}`,
        value: cluster.namespaces.join(','),
      });
    }

    // --- Observability ---
    this.operationalAlarms = this.alarms(props.operatorTopic);
    this.dashboard = this.newDashboard(props.dashboardName ?? `${stack.stackName}-autoscaler`, props.dashboardTargets ?? []);
  }

  /**
   * Lets an operator's role query the audit (`autoscaler audit`): reads of the audit table and its
   * indexes, each named (no wildcard), nothing else (no write, no Scan).
   */
  grantReadAudit(grantee: iam.IGrantable): iam.Grant {
    const audit = this.tables.audit.tableArn;
    const indexes = tableDesigns.audit.globalSecondaryIndexes.map((index) => `${audit}/index/${index.indexName}`);
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:Query'], resourceArns: [audit, ...indexes] });
  }

  /**
   * Lets an operator's role apply, list and delete policies (`autoscaler apply/policy`): exactly the
   * calls shared/state/policies.ts makes on the policies table, and nothing on state or the audit.
   */
  grantManagePolicies(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [this.tables.policies.tableArn],
    });
  }

  private table(id: string, design: TableDesign, removalPolicy: RemovalPolicy, protect: boolean): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: attribute(design.partitionKey),
      ...(design.sortKey ? { sortKey: attribute(design.sortKey) } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      ...(design.timeToLiveAttribute ? { timeToLiveAttribute: design.timeToLiveAttribute } : {}),
      deletionProtection: protect,
      removalPolicy,
    });
    for (const index of design.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  /** ARNs in this stack's partition and account, for the plug-ins' IAM (shared/plugins/descriptor.ts). */
  private iamContext(elastiCacheRegions: readonly string[] | undefined): IamContext {
    return {
      elastiCacheRegions,
      arn: ({ service, resource, resourceName, separator, region }) =>
        Stack.of(this).formatArn({
          service,
          resource,
          ...(resourceName !== undefined ? { resourceName } : {}),
          ...(region !== undefined ? { region } : {}),
          arnFormat: separator === ':' ? ArnFormat.COLON_RESOURCE_NAME : ArnFormat.SLASH_RESOURCE_NAME,
        }),
    };
  }

  private grantPermissions(role: iam.Role, secrets: readonly secretsmanager.ISecret[], eksClusters: readonly EksClusterAccess[], endpoints: Endpoints, elastiCacheRegions: readonly string[] | undefined): void {
    // Policies are only read by the functions (the CLI writes them); state is read and written;
    // the audit is appended to (conditional puts), never read by the functions.
    // Named actions rather than grantReadData/grantReadWriteData: no Scan, no streams, no index ARNs.
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadPolicies', actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], resources: [this.tables.policies.tableArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'KeepState', actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], resources: [this.tables.state.tableArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'AppendAudit', actions: ['dynamodb:PutItem'], resources: [this.tables.audit.tableArn] }));

    // What each plug-in needs, from its descriptor (shared/plugins/catalog.ts): static grants, then
    // grants for the configured endpoints of each kind (e.g. aps:QueryMetrics on named AMP workspaces).
    for (const statement of pluginIamStatements(endpoints, this.iamContext(elastiCacheRegions))) {
      role.addToPolicy(new iam.PolicyStatement({ sid: statement.sid, actions: [...statement.actions], resources: [...statement.resources] }));
      for (const resource of statement.resources) {
        if (statement.wildcardReason && resource.includes('*')) acknowledge(role, `AwsSolutions-IAM5[Resource::${nagResource(this, resource)}]`, statement.wildcardReason(resource));
      }
    }

    if (eksClusters.length > 0) {
      role.addToPolicy(new iam.PolicyStatement({
        sid: 'DescribeNamedEksClusters',
        actions: ['eks:DescribeCluster'],
        resources: eksClusters.map((c) => Stack.of(this).formatArn({ service: 'eks', resource: 'cluster', resourceName: c.clusterName })),
      }));
    }
    if (secrets.length > 0) {
      role.addToPolicy(new iam.PolicyStatement({
        sid: 'ReadNamedSecrets',
        actions: ['secretsmanager:GetSecretValue'],
        resources: secrets.map(secretArnForPolicy),
      }));
      for (const secret of secrets) secret.encryptionKey?.grantDecrypt(role);
      // A secret imported by name has a random 6-character suffix in its ARN: "-??????" matches only that.
      for (const secret of secrets) {
        const arn = nagResource(this, secretArnForPolicy(secret));
        if (arn.includes('*') || arn.includes('?')) {
          acknowledge(role, `AwsSolutions-IAM5[Resource::${arn}]`, `A secret known by name has a partial ARN; "-??????" matches only Secrets Manager's random 6-character suffix of that one secret.`);
        }
      }
    }
  }

  private function(
    id: string,
    entry: string,
    description: string,
    options: {
      role: iam.IRole;
      environment: Record<string, string>;
      vpc: ec2.IVpc | undefined;
      vpcSubnets: ec2.SubnetSelection | undefined;
      securityGroups: ec2.ISecurityGroup[] | undefined;
      removalPolicy: RemovalPolicy;
      logRetention: logs.RetentionDays;
      timeout: Duration;
      memorySize: number;
      retryAttempts: number;
      maxEventAge: Duration;
      reservedConcurrentExecutions?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention, removalPolicy: options.removalPolicy });
    logGroup.grantWrite(options.role);
    const fn = new NodejsFunction(this, id, {
      entry: `${repositoryRoot}${entry}`,
      handler: 'handler',
      projectRoot: repositoryRoot,
      depsLockFilePath: `${repositoryRoot}package-lock.json`,
      description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      bundling,
      role: options.role,
      environment: options.environment,
      timeout: options.timeout,
      memorySize: options.memorySize,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      onFailure: new SqsDestination(this.deadLetterQueue),
      retryAttempts: options.retryAttempts,
      maxEventAge: options.maxEventAge,
      recursiveLoop: lambda.RecursiveLoop.TERMINATE,
      ...(options.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: options.reservedConcurrentExecutions } : {}),
      ...(options.vpc ? { vpc: options.vpc, vpcSubnets: options.vpcSubnets, securityGroups: options.securityGroups } : {}),
    });
    acknowledge(fn, 'Serverless-LambdaDLQ', 'Failed asynchronous invocations go to an on-failure destination (the SQS dead-letter queue), which records the error and request context; a DeadLetterConfig as well would deliver each failure twice.');
    acknowledge(fn, 'Serverless-LambdaTracing', 'Every evaluation is recorded in the audit table and in structured logs and EMF metrics; X-Ray would need xray:Put* on "*" and adds little to a function that makes only outbound calls.');
    return fn;
  }

  private newAlarmTopic(removalPolicy: RemovalPolicy): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the autoscaler alarm topic; CloudWatch may use it to publish alarm notifications.',
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch encrypts the notification with the topic's key when it publishes.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }));
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Autoscaler alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyCloudWatchAlarmsOfThisAccountPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    return topic;
  }

  private alarms(operatorTopic: sns.ITopic | undefined): cloudwatch.Alarm[] {
    const made = [
      this.evaluateFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }).createAlarm(this, 'EvaluateErrorsAlarm', {
        alarmDescription: 'The scheduled evaluation failed (see the function logs): policies are not being evaluated.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.alarmFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }).createAlarm(this, 'AlarmErrorsAlarm', {
        alarmDescription: 'The alarm-driven evaluation failed (see the function logs and the dead-letter queue).',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.workerFunction.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }).createAlarm(this, 'WorkerErrorsAlarm', {
        alarmDescription: 'A fan-out worker invocation failed (see the worker logs): its shards are retried through the queue.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.shardDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }).createAlarm(this, 'ShardDeadLetterDepthAlarm', {
        alarmDescription: 'Shards failed three times and were given up: their targets missed those ticks (see the worker logs and the shard dead-letter queue).',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }).createAlarm(this, 'DeadLetterDepthAlarm', {
        alarmDescription: 'Events were lost: failed schedule ticks, failed alarm invocations or undeliverable alarm notifications are waiting in the dead-letter queue.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    if (operatorTopic) for (const alarm of made) alarm.addAlarmAction(new cloudwatchActions.SnsAction(operatorTopic));
    return made;
  }

  private newDashboard(dashboardName: string, targets: readonly string[]): cloudwatch.Dashboard {
    const period = Duration.minutes(1);
    // SEARCH finds every target that has emitted, so targets added to policies later appear by themselves.
    const perTarget = (metricName: string, statistic: string, label: string, dimensionSet: readonly string[] = targetDimensionSet) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${metricNamespace},${dimensionSet.join(',')}} MetricName="${metricName}"', '${statistic}', ${period.toSeconds()})`,
        label,
        period,
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName, defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Replicas per target', left: [perTarget(metricNames.replicas, 'Maximum', '')], width: 12 }),
      new cloudwatch.GraphWidget({ title: 'Driving metric per target', left: [perTarget(metricNames.metricValue, 'Average', '', metricValueDimensionSet)], width: 12 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Actions per target', left: [perTarget(metricNames.actions, 'Sum', '')], width: 12, stacked: true }),
      new cloudwatch.GraphWidget({ title: 'Failures per target', left: [perTarget(metricNames.failures, 'Sum', '')], width: 12, stacked: true }),
    );
    for (const target of targets) {
      const metric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({ namespace: metricNamespace, metricName, dimensionsMap: { [metricDimensions.service]: metricServiceName, [metricDimensions.target]: target }, statistic, period, label: metricName });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `Target ${target}`,
          left: [metric(metricNames.replicas, 'Maximum')],
          right: [metric(metricNames.actions, 'Sum'), metric(metricNames.failures, 'Sum')],
          width: 24,
        }),
      );
    }
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Functions: invocations and errors',
        left: [this.evaluateFunction.metricInvocations({ period }), this.alarmFunction.metricInvocations({ period }), this.workerFunction.metricInvocations({ period })],
        right: [this.evaluateFunction.metricErrors({ period }), this.alarmFunction.metricErrors({ period }), this.workerFunction.metricErrors({ period })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Evaluation duration (ms) and dead letters',
        left: [this.evaluateFunction.metricDuration({ period, statistic: 'p95' }), this.alarmFunction.metricDuration({ period, statistic: 'p95' })],
        right: [this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period })],
        width: 12,
      }),
    );
    const total = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: metricNamespace, metricName, dimensionsMap: { [metricDimensions.service]: metricServiceName }, statistic, period, label });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Fan-out: shards per tick and stale shards',
        left: [total(metricNames.shards, 'Sum', 'Shards per tick')],
        right: [total(metricNames.staleShards, 'Sum', 'Stale shards (dropped)'), this.shardDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, label: 'Shards in the DLQ' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Fan-out: tick duration (ms, tick to last audit record) and queue age',
        left: [total(metricNames.tickDurationMs, 'Maximum', 'Tick duration')],
        right: [this.shardQueue.metricApproximateAgeOfOldestMessage({ period, label: 'Oldest shard waiting (s)' })],
        width: 12,
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Operational alarms', alarms: [...this.operationalAlarms], width: 24 }));
    return dashboard;
  }
}

/** A secret known only by name has a partial ARN; "-??????" matches Secrets Manager's random suffix. */
function secretArnForPolicy(secret: secretsmanager.ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}

/** How cdk-nag writes a resource in a finding id: intrinsics as <Ref> / <Resource.Attribute>. */
function nagResource(scope: Construct, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if (o && 'Ref' in o) return `<${String(o.Ref)}>`;
    if (o && 'Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (o && 'Fn::Join' in o) {
      const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(value));
}

function attribute(key: { readonly name: string; readonly type: 'S' | 'N' }): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

function acknowledge(scope: Construct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

function checkSchedule(schedule: Duration): Duration {
  if (Token.isUnresolved(schedule.toSeconds())) return schedule;
  const seconds = schedule.toSeconds();
  if (seconds < 60 || seconds % 60 !== 0) throw new Error(`schedule: ${seconds} s; allowed: whole minutes, at least 1 minute (EventBridge's finest rate)`);
  return schedule;
}

function checkWhole(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name}: ${value}; allowed: a whole number from ${min} to ${max}`);
  return value;
}

function checkCeiling(ceiling: number): number {
  if (!Number.isInteger(ceiling) || ceiling < 1 || ceiling > maxCeiling) throw new Error(`replicaCeiling: ${ceiling}; allowed: a whole number from 1 to ${maxCeiling}`);
  return ceiling;
}

function checkAuditRetention(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new Error(`auditRetentionDays: ${days}; allowed: a whole number of days from 1 to 36500`);
  return days;
}

const awsRegion = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** A list of regions, each named by its index when malformed; undefined stays undefined (the stack's region). */
function checkRegions(field: string, regions: readonly string[] | undefined): readonly string[] | undefined {
  if (regions === undefined) return undefined;
  if (regions.length === 0) throw new Error(`${field}: empty; list at least one region, or leave it out for the stack's region`);
  regions.forEach((region, i) => {
    if (!awsRegion.test(region)) throw new Error(`${field}[${i}]: "${region}"; allowed: an AWS region such as eu-west-1`);
  });
  return [...new Set(regions)];
}

function checkEksClusters(clusters: readonly EksClusterAccess[]): readonly EksClusterAccess[] {
  const seen = new Set<string>();
  clusters.forEach((cluster, i) => {
    if (!eksClusterName.test(cluster.clusterName)) throw new Error(`eksClusters[${i}].clusterName: "${cluster.clusterName}"; allowed: letters, digits, - and _, starting with a letter or digit, at most 100`);
    if (seen.has(cluster.clusterName)) throw new Error(`eksClusters[${i}].clusterName: "${cluster.clusterName}" is listed twice`);
    seen.add(cluster.clusterName);
    if (cluster.namespaces.length === 0) throw new Error(`eksClusters[${i}].namespaces: empty; list the namespaces the autoscaler may scale in`);
    cluster.namespaces.forEach((ns, j) => {
      if (!dnsLabel.test(ns)) throw new Error(`eksClusters[${i}].namespaces[${j}]: "${ns}"; allowed: a Kubernetes namespace name (lowercase letters, digits and -, at most 63)`);
    });
  });
  return clusters;
}

/** Names and ARNs the granted secrets are known by at synth time; undefined when any is a token (not checkable). */
function grantedSecretIds(secrets: readonly secretsmanager.ISecret[]): ReadonlySet<string> | undefined {
  const ids = new Set<string>();
  for (const secret of secrets) {
    const known = [secret.secretName, secret.secretArn, secret.secretFullArn].filter((v): v is string => typeof v === 'string' && !Token.isUnresolved(v));
    if (known.length === 0) return undefined;
    for (const id of known) ids.add(id);
  }
  return ids;
}
