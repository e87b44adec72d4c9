/**
 * The `Autoscaler` construct with every prop set (existing topic, existing spec encryption key, VPC,
 * secrets, EKS clusters, endpoints, ceiling, retention, removal policy, dashboard targets), synthesized once in memory with
 * both cdk-nag packs registered the way infra/app.ts registers them.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { Autoscaler, kubernetesScalerGroup } from '../../infra/autoscaler.ts';
import { addNagChecks } from '../../infra/nag.ts';
import { asList, identityStatements, statementsWithAction } from './template-helpers.ts';

const account = '123456789012';
const region = 'eu-west-1';
const existingTopicArn = `arn:aws:sns:${region}:${account}:existing-alarms`;
const tlsSecretArn = `arn:aws:secretsmanager:${region}:${account}:secret:autoscaler/edge-1-tls-AbCdEf`;
const specKeyArn = `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

let template: Template;
let packs: ReturnType<typeof addNagChecks>;
let app: App;
let synthError: unknown;
let operator: iam.Role;
let grants: { audit: iam.Grant; policies: iam.Grant };
const ampWorkspaceId = 'ws-0123abcd-4567-89ef-0123-456789abcdef';

beforeAll(() => {
  // Prepare
  app = new App();
  const stack = new Stack(app, 'Configured', { env: { account, region } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'] });
  const subnets = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'].map((id, i) => ec2.Subnet.fromSubnetId(stack, `Subnet${i}`, id));
  const autoscaler = new Autoscaler(stack, 'Autoscaler', {
    schedule: Duration.minutes(5),
    alarmTopic: sns.Topic.fromTopicArn(stack, 'Existing', existingTopicArn),
    specEncryptionKey: kms.Key.fromKeyArn(stack, 'SpecKey', specKeyArn),
    operatorTopic: sns.Topic.fromTopicArn(stack, 'Ops', `arn:aws:sns:${region}:${account}:ops`),
    vpc,
    vpcSubnets: { subnets },
    secrets: [
      secretsmanager.Secret.fromSecretCompleteArn(stack, 'Tls', tlsSecretArn),
      secretsmanager.Secret.fromSecretNameV2(stack, 'RedisPassword', 'autoscaler/redis'),
    ],
    eksClusters: [
      { clusterName: 'prod', namespaces: ['workers', 'web'] },
      { clusterName: 'staging', namespaces: ['web'] },
    ],
    elastiCacheRegions: ['eu-west-1', 'us-east-1'],
    endpoints: {
      docker: { 'edge-1': { host: 'tcp://10.0.1.10:2376', tls: { ca: { secretId: tlsSecretArn, jsonKey: 'ca' }, cert: { secretId: tlsSecretArn, jsonKey: 'cert' }, key: { secretId: tlsSecretArn, jsonKey: 'key' } } } },
      redis: { 'cache-1': { url: 'rediss://cache-1.internal:6379/0', password: { secretId: 'autoscaler/redis' } } },
      kubernetes: { prod: { eks: { name: 'prod', region } } },
      prometheus: { amp: { amp: { workspaceId: ampWorkspaceId, region: 'us-west-2' } }, self: { url: 'https://prometheus.internal:9090' } },
    },
    replicaCeiling: 40,
    auditRetentionDays: 90,
    logRetention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
    dashboardTargets: ['docker/edge-1/web'],
  });
  operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountPrincipal(account) });
  grants = { audit: autoscaler.grantReadAudit(operator), policies: autoscaler.grantManagePolicies(operator) };
  packs = addNagChecks(app);
  // Act: the synth runs the nag plugins; it throws when any finding is left unacknowledged.
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  template = Template.fromStack(stack);
}, 300_000);

describe('Autoscaler construct, fully configured', () => {
  it('passes cdk-nag (AwsSolutions and Serverless) with every finding acknowledged with a reason', () => {
    // Assess
    expect(synthError).toBeUndefined();
    expect(packs.awsSolutions.validateScope(app).violations).toEqual([]);
    expect(packs.serverless.validateScope(app).violations).toEqual([]);
  });

  it('subscribes the alarm function to the existing topic and creates no topic or key of its own', () => {
    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', TopicArn: existingTopicArn });
  });

  it('seals recorded container environments with the given key: GenerateDataKey and Decrypt on it only, its ARN in the environment', () => {
    // Assess
    // One statement per role (the function role and the fan-out worker role), each with exactly these two.
    const onKey = identityStatements(template).filter((s) => asList(s.Action).some((a) => a.startsWith('kms:')) && JSON.stringify(s.Resource).includes(specKeyArn));
    expect(onKey).toHaveLength(2);
    for (const statement of onKey) expect(asList(statement.Action).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) expect(fn.Properties.Environment.Variables.SPEC_KMS_KEY_ID).toBe(specKeyArn);
  });

  it('reads only the named secrets', () => {
    // Assess
    // One statement per role: the function role (dispatcher, alarm) and the fan-out worker role.
    const statements = statementsWithAction(template, 'secretsmanager:GetSecretValue');
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      const resources = asList(statement.Resource).map((r) => JSON.stringify(r));
      expect(resources).toHaveLength(2);
      expect(resources[0]).toBe(JSON.stringify(tlsSecretArn));
      expect(resources[1]).toContain(':secret:autoscaler/redis-??????');
    }
  });

  it('describes only the named EKS clusters and gives the role access entries in the scalers group', () => {
    // Assess
    // One statement per role: the function role (dispatcher, alarm) and the fan-out worker role.
    const statements = statementsWithAction(template, 'eks:DescribeCluster');
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(asList(statement.Resource)).toHaveLength(2);
      const described = JSON.stringify(statement.Resource);
      expect(described).toContain('cluster/prod');
      expect(described).toContain('cluster/staging');
      expect(described).not.toContain('*');
    }
    template.resourceCountIs('AWS::EKS::AccessEntry', 4);
    for (const cluster of ['prod', 'staging']) {
      for (const role of ['FunctionRole', 'WorkerRole']) {
        template.hasResourceProperties('AWS::EKS::AccessEntry', {
          ClusterName: cluster,
          KubernetesGroups: [kubernetesScalerGroup],
          Username: 'autoscaler',
          Type: 'STANDARD',
          PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(role), 'Arn'] },
        });
      }
    }
    // No EKS access policy (e.g. AmazonEKSEditPolicy): RBAC in the named namespaces decides.
    for (const entry of Object.values(template.findResources('AWS::EKS::AccessEntry'))) expect(entry.Properties.AccessPolicies).toBeUndefined();
    template.hasOutput('*', { Value: 'workers,web' });
  });

  it('regression: grants ElastiCache describe in every region policies may name (elastiCacheRegions), not only the stack\'s', () => {
    // Assess
    // One statement per role (the function role and the fan-out worker role), the same on both.
    const statements = statementsWithAction(template, 'elasticache:DescribeReplicationGroups');
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      const resources = asList(statement.Resource).map((r) => JSON.stringify(r));
      expect(resources).toHaveLength(4);
      for (const r of ['eu-west-1', 'us-east-1']) {
        expect(resources.filter((arn) => arn.includes(`:elasticache:${r}:${account}:cluster:*`))).toHaveLength(1);
        expect(resources.filter((arn) => arn.includes(`:elasticache:${r}:${account}:replicationgroup:*`))).toHaveLength(1);
      }
    }
  });

  it('runs the functions in the VPC subnets with an outbound-only security group', () => {
    // Assess
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.VpcConfig.SubnetIds).toEqual(['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210']);
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123456789abcdef0', SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0' })] });
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroup'))[0]!.Properties.SecurityGroupIngress;
    expect(ingress).toBeUndefined();
  });

  it('passes the validated endpoints and the ceiling to the functions, and no secret value', () => {
    // Assess
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const variables = fn.Properties.Environment.Variables as Record<string, string>;
      expect(variables.AUTOSCALER_CEILING).toBe('40');
      expect(variables.AUDIT_RETENTION_DAYS).toBe('90');
      const endpoints = JSON.parse(variables.AUTOSCALER_ENDPOINTS ?? "{}") as { docker: Record<string, { tls: { ca: unknown } }>; kubernetes: unknown; haproxy: unknown };
      expect(endpoints.docker['edge-1']!.tls.ca).toEqual({ secretId: tlsSecretArn, jsonKey: 'ca' });
      expect(endpoints.kubernetes).toEqual({ prod: { eks: { name: 'prod', region } } });
      expect(endpoints.haproxy).toEqual({});
    }
  });

  it('applies the schedule, log retention and removal policy, and keeps the audit table whatever the removal policy', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(90);
      expect(group.DeletionPolicy).toBe('Delete');
    }
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));
    const audit = tables.find((t) => t.Properties.DeletionProtectionEnabled === true);
    expect(audit?.DeletionPolicy).toBe('Retain');
    expect(tables.filter((t) => t.DeletionPolicy === 'Delete')).toHaveLength(2);
  });

  it('sends the operational alarms to the operator topic, never to the scaling topic', () => {
    // Assess
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([`arn:aws:sns:${region}:${account}:ops`]);
  });

  it('gives each listed dashboard target its own graph', () => {
    // Assess
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain('Target docker/edge-1/web');
  });

  it('grants "*" only for GetMetricData among its own statements; the VPC permissions come from the AWS-managed Lambda VPC policy', () => {
    // Assess
    for (const s of identityStatements(template).filter((x) => x.Effect === 'Allow')) {
      for (const action of asList(s.Action)) expect(action).not.toContain('*');
      if (asList(s.Resource).includes('*')) expect(asList(s.Action)).toEqual(['cloudwatch:GetMetricData']);
    }
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0]!;
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('service-role/AWSLambdaVPCAccessExecutionRole');
  });

  it('queries only the AMP workspace named in the endpoints (aps:QueryMetrics from the prometheus descriptor)', () => {
    // Assess
    // One statement per role (the function role and the fan-out worker role), the same on both.
    const statements = statementsWithAction(template, 'aps:QueryMetrics');
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      expect(asList(statement.Action)).toEqual(['aps:QueryMetrics']);
      expect(asList(statement.Resource).map((r) => JSON.stringify(r))).toEqual([
        JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:aps:us-west-2:${account}:workspace/${ampWorkspaceId}`]] }),
      ]);
    }
  });

  it('grantReadAudit and grantManagePolicies give an operator role reads of the audit and the policy calls, nothing more', () => {
    // Assess
    expect(grants.audit.success).toBe(true);
    expect(grants.policies.success).toBe(true);
    const operatorPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(stackLogicalId(operator)));
    const statements = operatorPolicies.flatMap((p) => asList(p.Properties.PolicyDocument.Statement) as Array<{ Action: unknown; Resource: unknown }>);
    expect(statements.map((s) => asList(s.Action))).toEqual([
      ['dynamodb:GetItem', 'dynamodb:Query'],
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
    ]);
    expect(JSON.stringify(statements[0]!.Resource)).toContain('AuditTable');
    expect(asList(statements[0]!.Resource).map((r) => JSON.stringify(r).match(/\/index\/\w+/)?.[0] ?? 'table')).toEqual(['table', '/index/byPolicy', '/index/byDay']);
    expect(JSON.stringify(statements[1]!.Resource)).toContain('PoliciesTable');
    expect(JSON.stringify(statements[1]!.Resource)).not.toContain('AuditTable');
  });
});

function stackLogicalId(role: iam.Role): string {
  return Stack.of(role).getLogicalId(role.node.defaultChild as iam.CfnRole);
}
