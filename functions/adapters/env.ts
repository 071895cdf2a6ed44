/**
 * Reading a Lambda's environment at cold start. Every reader throws a TypeError naming the
 * variable, so a misconfigured function refuses to start instead of running half-configured.
 */
import { AuthzSettings, parseSettings } from '../core/settings';

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value; TypeError when it is missing or empty. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new TypeError(`${name} is required`);
  return value;
}

/** A comma-separated list, trimmed, empty entries dropped; [] when unset. */
export function listEnv(env: Env, name: string): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** A whole number in [min, max]; `fallback` when unset. */
export function integerEnv(env: Env, name: string, range: { min: number; max: number; fallback: number }): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? range.fallback : Number(raw);
  if (!Number.isInteger(value) || value < range.min || value > range.max) throw new TypeError(`${name} must be ${range.min}..${range.max}`);
  return value;
}

/**
 * The authorization settings as JSON (validated by core's parseSettings). Required: a security
 * product must not run with a policy nobody chose, so a missing value fails the cold start
 * instead of falling back to the defaults. (The CDK stack always sets it, defaults included.)
 */
export function settingsEnv(env: Env, name: string): AuthzSettings {
  const value = jsonEnv(env, name);
  try {
    return parseSettings(value);
  } catch (err) {
    throw new TypeError(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A required variable holding JSON, parsed; TypeError naming the variable when it is missing or not JSON. */
export function jsonEnv(env: Env, name: string): unknown {
  const json = requiredEnv(env, name);
  try {
    return JSON.parse(json);
  } catch {
    throw new TypeError(`${name} is not JSON`);
  }
}
