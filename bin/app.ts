/**
 * CDK app entry (`cdk.json`: `npx tsx bin/app.ts`). Context overrides (`-c key=value`) are
 * documented in lib/context.ts and the README, e.g.
 *
 *   npx cdk deploy -c backendUrl=https://fhir.example.com/r4 -c mfa=required -c waf=true
 */
import { App } from 'aws-cdk-lib';
import { buildFhirgateApp } from '../lib/fhirgate-app';

const app = new App();
buildFhirgateApp(app);
app.synth();
