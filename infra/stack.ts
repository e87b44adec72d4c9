/**
 * The stack `npx cdk deploy` creates: one `Autoscaler` with the deployment's configuration
 * (infra/config.ts), defaults everywhere else.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { Autoscaler, type AutoscalerProps } from './autoscaler.ts';
import { readEndpointsFile, type DeploymentConfig } from './config.ts';

export interface AutoscalerStackProps extends StackProps {
  readonly config?: DeploymentConfig;
}

export class AutoscalerStack extends Stack {
  readonly autoscaler: Autoscaler;

  constructor(scope: Construct, id: string, props: AutoscalerStackProps = {}) {
    super(scope, id, { description: 'Serverless, policy-driven autoscaler for containers (EKS and Docker hosts)', ...props });
    this.autoscaler = new Autoscaler(this, 'Autoscaler', this.autoscalerProps(props.config ?? {}));
    const a = this.autoscaler;
    // What operators need after deploy: the CLI reads the table names from POLICIES_TABLE / STATE_TABLE / AUDIT_TABLE.
    new CfnOutput(this, 'AlarmTopicArn', { value: a.alarmTopic.topicArn, description: 'Point your CloudWatch alarms\' ALARM and OK actions here' });
    new CfnOutput(this, 'PoliciesTable', { value: a.tables.policies.tableName, description: 'export POLICIES_TABLE=<this>' });
    new CfnOutput(this, 'StateTable', { value: a.tables.state.tableName, description: 'export STATE_TABLE=<this>' });
    new CfnOutput(this, 'AuditTable', { value: a.tables.audit.tableName, description: 'export AUDIT_TABLE=<this>' });
    new CfnOutput(this, 'FunctionRoleArn', { value: a.functionRole.roleArn, description: 'The functions\' role: the principal of the EKS access entries' });
    new CfnOutput(this, 'DashboardName', { value: a.dashboard.dashboardName });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: a.deadLetterQueue.queueUrl });
  }

  private autoscalerProps(config: DeploymentConfig): AutoscalerProps {
    const vpc = config.vpc
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.vpc.vpcId, availabilityZones: this.availabilityZones })
      : undefined;
    return {
      ...(config.scheduleMinutes !== undefined ? { schedule: Duration.minutes(config.scheduleMinutes) } : {}),
      ...(config.replicaCeiling !== undefined ? { replicaCeiling: config.replicaCeiling } : {}),
      ...(config.auditRetentionDays !== undefined ? { auditRetentionDays: config.auditRetentionDays } : {}),
      ...(config.logRetentionDays !== undefined ? { logRetention: config.logRetentionDays } : {}),
      ...(config.alarmTopicArn ? { alarmTopic: sns.Topic.fromTopicArn(this, 'ExistingAlarmTopic', config.alarmTopicArn) } : {}),
      ...(config.operatorTopicArn ? { operatorTopic: sns.Topic.fromTopicArn(this, 'OperatorTopic', config.operatorTopicArn) } : {}),
      ...(config.endpointsFile ? { endpoints: readEndpointsFile(config.endpointsFile) as AutoscalerProps['endpoints'] } : {}),
      ...(config.secrets
        ? {
            secrets: config.secrets.map((s, i) =>
              s.startsWith('arn:')
                ? secretsmanager.Secret.fromSecretCompleteArn(this, `Secret${i}`, s)
                : secretsmanager.Secret.fromSecretNameV2(this, `Secret${i}`, s),
            ),
          }
        : {}),
      ...(config.elastiCacheRegions ? { elastiCacheRegions: config.elastiCacheRegions } : {}),
      ...(config.eksClusters ? { eksClusters: config.eksClusters.map((c) => ({ clusterName: c.name, namespaces: c.namespaces })) } : {}),
      ...(vpc && config.vpc
        ? { vpc, vpcSubnets: { subnets: config.vpc.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id)) } }
        : {}),
      ...(config.dashboardTargets ? { dashboardTargets: config.dashboardTargets } : {}),
      ...(config.destroyOnRemoval ? { removalPolicy: RemovalPolicy.DESTROY } : {}),
    };
  }
}
