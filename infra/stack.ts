/**
 * The stack `npx cdk deploy` creates: one `Autoscaler` with the deployment's configuration
 * (infra/config.ts), defaults everywhere else.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
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
  }

  private autoscalerProps(config: DeploymentConfig): AutoscalerProps {
    const vpc = config.vpc
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.vpc.vpcId, availabilityZones: this.availabilityZones })
      : undefined;
    return {
      ...(config.scheduleMinutes !== undefined ? { schedule: Duration.minutes(config.scheduleMinutes) } : {}),
      ...(config.replicaCeiling !== undefined ? { replicaCeiling: config.replicaCeiling } : {}),
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
      ...(config.eksClusters ? { eksClusters: config.eksClusters.map((c) => ({ clusterName: c.name, namespaces: c.namespaces })) } : {}),
      ...(vpc && config.vpc
        ? { vpc, vpcSubnets: { subnets: config.vpc.subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id)) } }
        : {}),
      ...(config.dashboardTargets ? { dashboardTargets: config.dashboardTargets } : {}),
      ...(config.destroyOnRemoval ? { removalPolicy: RemovalPolicy.DESTROY } : {}),
    };
  }
}
