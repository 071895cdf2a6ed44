/**
 * Synthesize the deployable app (lib/fhirgate-app.ts, what `cdk synth` runs) in-process, with the
 * feature flags of cdk.json and the given context, into a temporary cloud assembly directory.
 * Synthesis runs both cdk-nag packs as validation plugins and throws on any unacknowledged error.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { buildFhirgateApp } from '../../lib/fhirgate-app';
import type { FhirgateStack } from '../../lib/fhirgate-stack';

const CDK_JSON = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };

export interface Synthesized {
  readonly app: App;
  readonly stack: FhirgateStack;
  readonly template: Template;
  /** The cloud assembly directory (asset.<hash>/ folders, templates, validation report). */
  readonly outdir: string;
}

export interface SynthOptions {
  /** Run esbuild for the three functions (slower); otherwise CDK skips bundling. @default false */
  readonly bundle?: boolean;
}

/** Synthesize once; call from beforeAll and share the result. */
export function synthesize(context: Record<string, string> = {}, options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'fhirgate-cdk-'));
  const app = new App({
    outdir,
    context: {
      ...CDK_JSON.context,
      ...context,
      // What `cdk synth --exclusively` uses to skip bundling of unselected stacks: an empty list skips all.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = buildFhirgateApp(app);
  app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir };
}

/** cdk.json as committed. */
export const cdkJson = CDK_JSON;

/**
 * Run both nag packs over the app and return the violations they still report (unacknowledged),
 * or, with `ignoreAcknowledgements`, every finding as if nothing had been acknowledged.
 */
export function nagViolations(app: App, options: { ignoreAcknowledgements?: boolean } = {}): { pack: string; rule: string; severity: string; paths: string[] }[] {
  const packs = [new AwsSolutionsChecks(), new HIPAASecurityChecks()];
  // cdk-nag keeps its acknowledgement lookup private; replacing it on these two instances only.
  if (options.ignoreAcknowledgements) for (const pack of packs) (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return packs.flatMap((pack) =>
    pack.validateScope(app).violations.map((v) => ({
      pack: pack.name,
      rule: v.ruleName,
      severity: v.severity ?? 'unknown',
      paths: v.violatingResources.map((r) => r.constructPath ?? '?'),
    })),
  );
}

/** Every acknowledgement recorded in the construct tree: rule id, reason, where. */
export function acknowledgements(root: IConstruct): { rule: string; reason: string; path: string }[] {
  const out: { rule: string; reason: string; path: string }[] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ rule: id.replace(/^[A-Za-z]+::/, ''), reason, path: node.node.path });
      }
    }
  }
  return out;
}

/** Resources of a type as [logicalId, properties]. */
export function resourcesOfType(template: Template, type: string): [string, Record<string, any>][] {
  return Object.entries(template.findResources(type)).map(([id, r]) => [id, (r as { Properties?: Record<string, any> }).Properties ?? {}]);
}

/** Every API method as `{ verb, path, auth, authorizer, target }`, its path found by walking ParentId to the root. */
export function apiMethods(template: Template): { verb: string; path: string; auth: string; authorizer: unknown; target: string }[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const pathOf = (ref: { Ref?: string }): string => {
    const parts: string[] = [];
    let current = ref?.Ref;
    while (current && resources[current]?.Type === 'AWS::ApiGateway::Resource') {
      parts.unshift(resources[current]!.Properties.PathPart);
      current = resources[current]!.Properties.ParentId.Ref;
    }
    return `/${parts.join('/')}`;
  };
  return resourcesOfType(template, 'AWS::ApiGateway::Method').map(([, p]) => ({
    verb: p.HttpMethod as string,
    path: pathOf(p.ResourceId),
    auth: p.AuthorizationType as string,
    authorizer: p.AuthorizerId,
    target: JSON.stringify(p.Integration?.Uri),
  }));
}

/** Gateway responses by response type (`UNAUTHORIZED`, `DEFAULT_4XX`, …). */
export function gatewayResponses(template: Template): Record<string, Record<string, any>> {
  return Object.fromEntries(resourcesOfType(template, 'AWS::ApiGateway::GatewayResponse').map(([, p]) => [p.ResponseType, p]));
}
