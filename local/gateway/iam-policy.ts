/**
 * IAM policy evaluation as API Gateway applies an authorizer's policy to one method ARN:
 * an explicit Deny wins, then any Allow, else deny (implicit). `Resource` and `Action` patterns
 * use IAM wildcards: `*` matches any run of characters (including `/`), `?` one character.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';

type Statement = { Effect?: string; Action?: string | string[]; Resource?: string | string[] };

/** 'Allow' or 'Deny' for this method ARN. */
export function evaluatePolicy(result: APIGatewayAuthorizerResult, methodArn: string): 'Allow' | 'Deny' {
  const statements = (result.policyDocument?.Statement ?? []) as Statement[];
  let allowed = false;
  for (const s of statements) {
    if (!matchesAny(s.Action, 'execute-api:Invoke') || !matchesAny(s.Resource, methodArn)) continue;
    if (s.Effect === 'Deny') return 'Deny';
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed ? 'Allow' : 'Deny';
}

function matchesAny(patterns: string | string[] | undefined, value: string): boolean {
  const list = patterns === undefined ? [] : Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => wildcard(p).test(value));
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}
