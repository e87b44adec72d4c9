/**
 * The CDK app (cdk.json: "app": "node infra/app.ts"). Configuration from context "autoscaler"
 * (infra/config.ts); the stack name from context "stackName" (default "Autoscaler").
 */
import { App } from 'aws-cdk-lib';
import { parseDeploymentConfig } from './config.ts';
import { addNagChecks } from './nag.ts';
import { AutoscalerStack } from './stack.ts';

const app = new App();
const stackName = String(app.node.tryGetContext('stackName') ?? 'Autoscaler');
try {
  new AutoscalerStack(app, stackName, {
    config: parseDeploymentConfig(app.node.tryGetContext('autoscaler')),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  // Errors here are configuration errors, each naming the field: a stack trace would only bury them.
  console.error(`autoscaler: the configuration cannot be deployed:\n${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
addNagChecks(app);
app.synth();
