/**
 * SMART App Launch settings from the token service's Lambda environment. App Launch is offered
 * only when its tables and the broker client are configured; half a configuration stops the
 * function from starting (TypeError naming the variable) instead of failing at the first sign-in.
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
  readonly brokerClientSecret: string;
  /** The policy without issuer and audience (the exchange's, added by the caller). */
  readonly policy: Omit<AppLaunchPolicy, 'issuer' | 'audience'>;
}

/** The App Launch configuration, or undefined when none of its variables is set. */
export function appLaunchConfigFromEnv(env: Env): AppLaunchConfig | undefined {
  const required = [APP_LAUNCH_ENV.appsTable, APP_LAUNCH_ENV.launchTable, APP_LAUNCH_ENV.cognitoDomain, APP_LAUNCH_ENV.brokerClientId, APP_LAUNCH_ENV.brokerClientSecret];
  const set = required.filter((name) => env[name]);
  if (set.length === 0) return undefined;
  const missing = required.filter((name) => !env[name]);
  if (missing.length > 0) throw new TypeError(`SMART App Launch needs ${missing.join(', ')} as well`);
  const domain = env[APP_LAUNCH_ENV.cognitoDomain]!;
  if (!/^https:\/\/[^/]+$/.test(domain.replace(/\/+$/, '')) && !/^http:\/\/127\.0\.0\.1(:\d+)?$/.test(domain)) {
    throw new TypeError(`${APP_LAUNCH_ENV.cognitoDomain} must be https://<domain> (no path)`);
  }
  return {
    appsTable: env[APP_LAUNCH_ENV.appsTable]!,
    launchTable: env[APP_LAUNCH_ENV.launchTable]!,
    cognitoDomain: domain,
    brokerClientId: env[APP_LAUNCH_ENV.brokerClientId]!,
    brokerClientSecret: env[APP_LAUNCH_ENV.brokerClientSecret]!,
    policy: {
      ...DEFAULT_APP_LAUNCH_POLICY,
      roleScopes: roleScopes(env[APP_LAUNCH_ENV.roleScopes]),
      accessTokenSeconds: integerEnv(env, APP_LAUNCH_ENV.accessTokenSeconds, { min: 60, max: 3600, fallback: DEFAULT_APP_LAUNCH_POLICY.accessTokenSeconds }),
      offlineSeconds: integerEnv(env, APP_LAUNCH_ENV.offlineSeconds, { min: 3600, max: 365 * 86400, fallback: DEFAULT_APP_LAUNCH_POLICY.offlineSeconds }),
    },
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
