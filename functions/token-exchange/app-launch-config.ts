/**
 * SMART App Launch settings from the token service's Lambda environment. App Launch is offered
 * only when its tables and the broker client are configured; half a configuration stops the
 * function from starting (TypeError naming the variable) instead of failing at the first sign-in.
 *
 * The broker's client secret comes one of two ways, exactly one of them set: as the value itself
 * (`FHIRGATE_BROKER_CLIENT_SECRET`, the local stack) or as a Secrets Manager secret id
 * (`FHIRGATE_BROKER_SECRET_ID`, the CDK stack), read at first use through the Parameters and
 * Secrets Lambda Extension, so the value is in neither the template nor the function's environment.
 */
import { AppLaunchPolicy, DEFAULT_APP_LAUNCH_POLICY } from '../core/app-launch';
import { parseScopeString } from '../core/scopes';
import { ROLES, Role } from '../core/settings';
import { Env, integerEnv } from '../adapters/env';

export const APP_LAUNCH_ENV = {
  appsTable: 'FHIRGATE_APPS_TABLE',
  launchTable: 'FHIRGATE_LAUNCH_TABLE',
  /** The user pool domain of managed login, e.g. `https://auth.example.com`. */
  cognitoDomain: 'FHIRGATE_COGNITO_DOMAIN',
  brokerClientId: 'FHIRGATE_BROKER_CLIENT_ID',
  brokerClientSecret: 'FHIRGATE_BROKER_CLIENT_SECRET',
  /** ARN (or name) of the Secrets Manager secret holding the broker's client secret. */
  brokerSecretId: 'FHIRGATE_BROKER_SECRET_ID',
  /** JSON `{"patient": ["patient/*.rs", "patient/Observation.c"], …}`: the most each role is granted through an app. */
  roleScopes: 'FHIRGATE_APP_ROLE_SCOPES',
  accessTokenSeconds: 'FHIRGATE_APP_ACCESS_TOKEN_SECONDS',
  offlineSeconds: 'FHIRGATE_APP_OFFLINE_SECONDS',
} as const;

export interface AppLaunchConfig {
  readonly appsTable: string;
  readonly launchTable: string;
  readonly cognitoDomain: string;
  readonly brokerClientId: string;
  /** The broker's client secret: its value, or where Secrets Manager keeps it. */
  readonly brokerSecret: { readonly value: string } | { readonly secretId: string };
  /** The policy without issuer and audience (the exchange's, added by the caller). */
  readonly policy: Omit<AppLaunchPolicy, 'issuer' | 'audience'>;
}

/** The App Launch configuration, or undefined when none of its variables is set. */
export function appLaunchConfigFromEnv(env: Env): AppLaunchConfig | undefined {
  const required = [APP_LAUNCH_ENV.appsTable, APP_LAUNCH_ENV.launchTable, APP_LAUNCH_ENV.cognitoDomain, APP_LAUNCH_ENV.brokerClientId];
  const secrets = [APP_LAUNCH_ENV.brokerClientSecret, APP_LAUNCH_ENV.brokerSecretId].filter((name) => env[name]);
  if (secrets.length === 0 && !required.some((name) => env[name])) return undefined;
  const missing = [...required.filter((name) => !env[name]), ...(secrets.length === 0 ? [`${APP_LAUNCH_ENV.brokerClientSecret} or ${APP_LAUNCH_ENV.brokerSecretId}`] : [])];
  if (missing.length > 0) throw new TypeError(`SMART App Launch needs ${missing.join(', ')} as well`);
  if (secrets.length > 1) throw new TypeError(`set ${APP_LAUNCH_ENV.brokerClientSecret} or ${APP_LAUNCH_ENV.brokerSecretId}, not both`);
  const domain = env[APP_LAUNCH_ENV.cognitoDomain]!;
  if (!/^https:\/\/[^/]+$/.test(domain.replace(/\/+$/, '')) && !/^http:\/\/127\.0\.0\.1(:\d+)?$/.test(domain)) {
    throw new TypeError(`${APP_LAUNCH_ENV.cognitoDomain} must be https://<domain> (no path)`);
  }
  return {
    appsTable: env[APP_LAUNCH_ENV.appsTable]!,
    launchTable: env[APP_LAUNCH_ENV.launchTable]!,
    cognitoDomain: domain,
    brokerClientId: env[APP_LAUNCH_ENV.brokerClientId]!,
    brokerSecret: env[APP_LAUNCH_ENV.brokerSecretId] ? { secretId: env[APP_LAUNCH_ENV.brokerSecretId]! } : { value: env[APP_LAUNCH_ENV.brokerClientSecret]! },
    policy: appLaunchPolicyFromEnv(env),
  };
}

/** The grant policy alone (role scopes, lifetimes): what the CDK stack checks its props with before it sets them. */
export function appLaunchPolicyFromEnv(env: Env): AppLaunchConfig['policy'] {
  return {
    ...DEFAULT_APP_LAUNCH_POLICY,
    roleScopes: roleScopes(env[APP_LAUNCH_ENV.roleScopes]),
    accessTokenSeconds: integerEnv(env, APP_LAUNCH_ENV.accessTokenSeconds, { min: 60, max: 3600, fallback: DEFAULT_APP_LAUNCH_POLICY.accessTokenSeconds }),
    offlineSeconds: integerEnv(env, APP_LAUNCH_ENV.offlineSeconds, { min: 3600, max: 365 * 86400, fallback: DEFAULT_APP_LAUNCH_POLICY.offlineSeconds }),
  };
}

/** Per-role grantable scopes: `patient/` scopes only; a role left out keeps the read-only default. */
function roleScopes(json: string | undefined): Readonly<Record<Role, readonly string[]>> {
  if (!json) return DEFAULT_APP_LAUNCH_POLICY.roleScopes;
  const fail = (why: string): never => {
    throw new TypeError(`${APP_LAUNCH_ENV.roleScopes}: ${why}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('expected an object of role → scopes');
  const out = { ...DEFAULT_APP_LAUNCH_POLICY.roleScopes } as Record<Role, readonly string[]>;
  for (const [role, scopes] of Object.entries(value)) {
    if (!(ROLES as readonly string[]).includes(role)) fail(`unknown role ${role}`);
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) fail(`${role}: expected a list of scopes`);
    const parsed = parseScopeString((scopes as string[]).join(' '));
    if (parsed.errors.length > 0 || parsed.resource.length !== scopes.length || parsed.resource.some((s) => s.context !== 'patient')) fail(`${role}: patient/ scopes only`);
    out[role as Role] = scopes as string[];
  }
  return out;
}
