/**
 * cdk-nag 3 runs as a policy-validation plugin at every synth (app.ts and the tests): any finding not
 * acknowledged with a reason (`Validations.of(construct).acknowledge`) fails the synth.
 */
import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

export function addNagChecks(app: App): { readonly awsSolutions: AwsSolutionsChecks; readonly serverless: ServerlessChecks } {
  const awsSolutions = new AwsSolutionsChecks(app, { verbose: true });
  const serverless = new ServerlessChecks(app, { verbose: true });
  Validations.of(app).addPlugins(awsSolutions, serverless);
  return { awsSolutions, serverless };
}
