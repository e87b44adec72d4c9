/**
 * The deployable stack as a user gets it: `npx cdk synth` (the real CLI, offline, cdk-nag running as a
 * validation plugin) on the default configuration. Synthesized once; every assertion reads that output.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEndpoints } from '../../shared/config/endpoints.ts';
import { metricNames, metricNamespace } from '../../shared/observability/metric-names.ts';
import { defaultAuditRetentionDays, specKeyEnvironment, tableDesigns, tableEnvironment } from '../../shared/state/tables.ts';
import { asList, identityStatements, logicalId, statementsWithAction } from './template-helpers.ts';

const run = promisify(execFile);
const repositoryRoot = new URL('../../', import.meta.url).pathname;
let outdir: string;
let template: Template;
let synthOutput: string;

beforeAll(async () => {
  // Prepare: a fresh output directory; no AWS credentials or network needed.
  outdir = mkdtempSync(join(tmpdir(), 'autoscaler-synth-'));
  // Act: what the README tells users to run.
  const { stdout, stderr } = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir], {
    cwd: repositoryRoot,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
    maxBuffer: 32 * 1024 * 1024,
  });
  synthOutput = `${stdout}\n${stderr}`;
  template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, 'Autoscaler.template.json'), 'utf8')));
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The table built from one design (logical ids: PoliciesTable, StateTable, AuditTable). */
function tableFor(name: keyof typeof tableDesigns) {
  const hint = `${name[0]!.toUpperCase()}${name.slice(1)}Table`;
  return template.findResources('AWS::DynamoDB::Table')[logicalId(template, 'AWS::DynamoDB::Table', hint)]!;
}

describe('npx cdk synth (default configuration, offline)', () => {
  it('synthesizes with cdk-nag AwsSolutions and Serverless packs reporting no unacknowledged finding', () => {
    // Assess: the CLI exits non-zero on any nag error, and the report lists no plugin violations.
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: Array<{ summary?: { status?: string }; violations?: unknown[] }> };
    const violations = report.pluginReports.flatMap((r) => r.violations ?? []);
    expect(violations).toEqual([]);
    expect(synthOutput).not.toMatch(/AwsSolutions-|Serverless-/);
  });

  it('creates the three tables from shared/state/tables.ts: on demand, point-in-time recovery, encrypted', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    for (const [name, design] of Object.entries(tableDesigns)) {
      const table = tableFor(name as keyof typeof tableDesigns);
      expect(table.Properties.KeySchema[0]).toEqual({ AttributeName: design.partitionKey.name, KeyType: 'HASH' });
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.Properties.TimeToLiveSpecification).toEqual(design.timeToLiveAttribute ? { AttributeName: design.timeToLiveAttribute, Enabled: true } : undefined);
      const indexes = asList(table.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string }>).map((i) => i.IndexName);
      expect(indexes).toEqual(design.globalSecondaryIndexes.map((i) => i.indexName));
    }
  });

  it('protects the audit table from deletion and keeps it when the stack goes', () => {
    // Assess
    const audit = tableFor('audit');
    expect(audit.Properties.DeletionProtectionEnabled).toBe(true);
    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.Properties.TimeToLiveSpecification).toEqual({ AttributeName: tableDesigns.audit.timeToLiveAttribute, Enabled: true });
  });

  it('runs the three handlers (dispatcher, alarm, fan-out worker) on nodejs24.x, arm64, ESM bundles, with the table names and no secret in the environment', () => {
    // Assess
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(3);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Handler).toBe('index.handler');
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      for (const name of Object.values(tableEnvironment)) expect(variables[name]).toEqual({ Ref: expect.stringContaining('Table') });
      // One empty record per endpoint kind of the plug-in catalog.
      expect(JSON.parse(variables.AUTOSCALER_ENDPOINTS as string)).toEqual(noEndpoints);
      expect(variables.AUTOSCALER_CEILING).toBe('100');
      expect(variables.AUDIT_RETENTION_DAYS).toBe(String(defaultAuditRetentionDays));
      expect(Object.keys(variables).filter((k) => /SECRET|PASSWORD|TOKEN|KEY$/i.test(k))).toEqual([]);
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } });
    }
  });

  it('gives the functions the timeouts and memory chosen for them', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('schedule'), Timeout: 900, MemorySize: 512 });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('alarm'), Timeout: 900, MemorySize: 512 });
  });

  it('bundles minified ESM with source maps and the createRequire banner', () => {
    // Assess: the staged bundles themselves.
    const bundles = readdirSync(outdir).filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.mjs')));
    expect(bundles).toHaveLength(3);
    for (const dir of bundles) {
      const code = readFileSync(join(outdir, dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __createRequire } from 'node:module';")).toBe(true);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(statSync(join(outdir, dir, 'index.mjs.map')).size).toBeGreaterThan(0);
      // Minified: few, long lines.
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
    }
  });

  it('sends the functions\' failed asynchronous events to the SQS dead-letter queue', () => {
    // Assess
    const queue = logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue');
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(3);
    for (const config of configs) expect(config.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } });
    const alarmFunction = logicalId(template, 'AWS::Lambda::Function', 'AlarmFunction');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: alarmFunction }, MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('evaluates on a one-minute EventBridge schedule, with a dead-letter queue for undelivered ticks', () => {
    // Assess
    const evaluate = logicalId(template, 'AWS::Lambda::Function', 'EvaluateFunction');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [evaluate, 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } } })],
    });
  });

  it('creates a KMS-encrypted alarm topic that only CloudWatch alarms of this account may publish to', () => {
    // Assess
    const key = logicalId(template, 'AWS::KMS::Key', 'AlarmTopicKey');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    const keyStatements = template.findResources('AWS::KMS::Key')[key]!.Properties.KeyPolicy.Statement as Array<{ Principal?: { Service?: string }; Action: string[] }>;
    expect(keyStatements.find((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com')?.Action).toEqual(expect.arrayContaining(['kms:Decrypt']));

    const topicPolicy = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0]!;
    const allows = (topicPolicy.Properties.PolicyDocument.Statement as Array<{ Effect: string; Principal: unknown; Action: string; Condition?: Record<string, Record<string, unknown>> }>).filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]!.Principal).toEqual({ Service: 'cloudwatch.amazonaws.com' });
    expect(allows[0]!.Action).toBe('sns:Publish');
    expect(allows[0]!.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('subscribes the alarm function to the topic, with a redrive policy to the dead-letter queue', () => {
    // Assess
    const alarmFunction = logicalId(template, 'AWS::Lambda::Function', 'AlarmFunction');
    const queue = logicalId(template, 'AWS::SQS::Queue', 'DeadLetterQueue');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      Endpoint: { 'Fn::GetAtt': [alarmFunction, 'Arn'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [queue, 'Arn'] } },
    });
  });

  it('grants no wildcard action, and "*" as a resource only to cloudwatch:GetMetricData', () => {
    // Assess
    const statements = identityStatements(template).filter((s) => s.Effect === 'Allow');
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      for (const action of asList(s.Action)) expect(action, JSON.stringify(s)).not.toContain('*');
      if (asList(s.Resource).includes('*')) expect(asList(s.Action)).toEqual(['cloudwatch:GetMetricData']);
    }
    // One statement per role: the function role (dispatcher, alarm) and the fan-out worker role.
    expect(statementsWithAction(template, 'cloudwatch:GetMetricData')).toHaveLength(2);
    // Nothing named, nothing granted: no EKS, no secrets, no access entries by default.
    expect(statementsWithAction(template, 'eks:DescribeCluster')).toEqual([]);
    expect(statementsWithAction(template, 'secretsmanager:GetSecretValue')).toEqual([]);
    template.resourceCountIs('AWS::EKS::AccessEntry', 0);
  });

  it('grants the tables by purpose: policies read, state read/write, audit append only', () => {
    // Assess
    const onTable = (hint: string) => {
      const table = logicalId(template, 'AWS::DynamoDB::Table', hint);
      return identityStatements(template)
        .filter((s) => JSON.stringify(s.Resource).includes(`"${table}"`))
        .flatMap((s) => asList(s.Action))
        .filter((action, i, all) => all.indexOf(action) === i) // the same grants on both roles
        .sort();
    };
    expect(onTable('PoliciesTable')).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    expect(onTable('StateTable')).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    expect(onTable('AuditTable')).toEqual(['dynamodb:PutItem']);
  });

  it('defect 11: seals recorded container environments with its own rotated KMS key; the functions may only GenerateDataKey and Decrypt with it', () => {
    // Assess
    const key = logicalId(template, 'AWS::KMS::Key', 'SpecEncryptionKey');
    expect(template.findResources('AWS::KMS::Key')[key]!.Properties.EnableKeyRotation).toBe(true);
    // One statement per role (the function role: dispatcher and alarm; the fan-out worker role), each with exactly these two.
    const onKey = identityStatements(template).filter((s) => JSON.stringify(s.Resource).includes(`"${key}"`));
    expect(onKey).toHaveLength(2);
    for (const statement of onKey) expect(asList(statement.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(statementsWithAction(template, 'kms:Encrypt')).toEqual([]);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables[specKeyEnvironment]).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    }
  });

  it('outputs what operators need: the topic ARN, the table names for the CLI, the dashboard, the dead-letter queue', () => {
    // Assess
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual(['AlarmTopicArn', 'AuditTable', 'DashboardName', 'DeadLetterQueueUrl', 'FunctionRoleArn', 'PoliciesTable', 'StateTable']);
    expect(outputs.PoliciesTable!.Value).toEqual({ Ref: logicalId(template, 'AWS::DynamoDB::Table', 'PoliciesTable') });
    expect(outputs.AlarmTopicArn!.Value).toEqual({ Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic') });
  });

  it('keeps the functions\' logs in log groups with a retention period', () => {
    // Assess
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('alarms on function errors and dead-letter depth', () => {
    // Assess
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'WorkerFunction') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'FailedShards'), 'QueueName'] } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'EvaluateFunction') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(template, 'AWS::Lambda::Function', 'AlarmFunction') } }] });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
  });

  it('builds a dashboard whose per-target graphs are SEARCH expressions over the handlers\' metrics', () => {
    // Prepare: the body is a Fn::Join of JSON text and tokens; put placeholders for the tokens.
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    const [, parts] = dashboard.Properties.DashboardBody['Fn::Join'] as [string, unknown[]];
    const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')) as { widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }> };
    // Act
    const expressions = body.widgets.flatMap((w) => w.properties.metrics ?? []).flatMap((m) => m.filter((x): x is { expression: string } => typeof x === 'object' && x !== null && 'expression' in x)).map((x) => x.expression);
    // Assess
    for (const name of [metricNames.replicas, metricNames.actions, metricNames.failures]) {
      expect(expressions).toContainEqual(expect.stringMatching(new RegExp(`^SEARCH\\('\\{${metricNamespace},service,target\\} MetricName="${name}"'`)));
    }
    expect(expressions).toContainEqual(expect.stringContaining(`{${metricNamespace},service,target,metric} MetricName="${metricNames.metricValue}"`));
    // Fan-out: shards per tick, stale shards and tick duration, as the worker and dispatcher emit them (dimension service only).
    const titles = body.widgets.map((w) => w.properties.title ?? '');
    expect(titles).toEqual(expect.arrayContaining(['Fan-out: shards per tick and stale shards', 'Fan-out: tick duration (ms, tick to last audit record) and queue age']));
    const plain = body.widgets.flatMap((w) => w.properties.metrics ?? []).filter((m) => m[0] === metricNamespace).map((m) => `${m[1]} ${m[2]}=${m[3]}`);
    for (const name of [metricNames.shards, metricNames.staleShards, metricNames.tickDurationMs]) expect(plain).toContain(`${name} service=autoscaler`);
  });
});

describe('npx cdk synth: fan-out (queue, worker, dead-letter queue, event source mapping)', () => {
  const workerTimeout = () => template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'WorkerFunction')]!.Properties.Timeout as number;

  it('creates an encrypted shard queue whose visibility timeout is at least 6x the worker timeout, with its own dead-letter queue', () => {
    const queue = template.findResources('AWS::SQS::Queue')[logicalId(template, 'AWS::SQS::Queue', 'ShardQueue')]!;
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout());
    expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'FailedShards'), 'Arn'] }, maxReceiveCount: 3 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', { Queues: [{ Ref: logicalId(template, 'AWS::SQS::Queue', 'ShardQueue') }], PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] } });
  });

  it('runs the worker from the queue with ReportBatchItemFailures and the default reserved concurrency of 50', () => {
    const worker = logicalId(template, 'AWS::Lambda::Function', 'WorkerFunction');
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', ReservedConcurrentExecutions: 50, Timeout: 120 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: worker },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(template, 'AWS::SQS::Queue', 'ShardQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
    });
    const variables = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'EvaluateFunction')]!.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables).toMatchObject({ SHARD_QUEUE_URL: { Ref: logicalId(template, 'AWS::SQS::Queue', 'ShardQueue') }, SCHEDULE_INTERVAL_SECONDS: '60', FANOUT_WORKERS: '50', FANOUT_MAX_TARGETS_PER_SHARD: '100', FANOUT_IN_PROCESS_MAX_TARGETS: '200' });
  });

  it('lets the dispatcher only send to the shard queue, and only the worker consume it', () => {
    const queue = logicalId(template, 'AWS::SQS::Queue', 'ShardQueue');
    const rolePolicies = (hint: string) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(hint))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>);
    const onQueue = (hint: string) => rolePolicies(hint).filter((s) => JSON.stringify(s.Resource).includes(`"${queue}"`)).flatMap((s) => asList(s.Action)).sort();
    expect(onQueue('FunctionRole')).toEqual(['sqs:SendMessage']);
    expect(onQueue('WorkerRole')).toEqual(expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']));
    expect(onQueue('WorkerRole')).not.toContain('sqs:SendMessage');
  });
});
