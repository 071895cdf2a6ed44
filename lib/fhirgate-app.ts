/**
 * The deployable app: the fhirgate stack with both cdk-nag rule packs (AWS Solutions and HIPAA
 * Security) registered as CDK v2 validation plugins. `bin/app.ts` runs this for `cdk synth` and
 * `cdk deploy`; the CDK tests run exactly the same function.
 *
 * cdk-nag v3 registers packs with `Validations.of(app).addPlugins(...)` (v2 used
 * `Aspects.of(app).add(...)`); a finding is acknowledged with `Validations.of(construct).acknowledge`
 * next to the resource it concerns. Synthesis fails on any unacknowledged error.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { configFromContext } from './context';
import { FhirgateStack } from './fhirgate-stack';

/** Build the fhirgate stack on `app` from its context, with the nag packs; returns the stack. */
export function buildFhirgateApp(app: App): FhirgateStack {
  const { stackName, props } = configFromContext((key) => app.node.tryGetContext(key));
  const stack = new FhirgateStack(app, stackName, {
    ...props,
    description: 'fhirgate: patient-scoped authorization for a FHIR server (API Gateway, Cognito, Lambda, HealthLake)',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
  return stack;
}
