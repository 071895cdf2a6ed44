/**
 * Reading a Lambda's environment at cold start. Every reader throws a TypeError naming the
 * variable, so a misconfigured function refuses to start instead of running half-configured.
 */
import { AuthzSettings, DEFAULT_SETTINGS, parseSettings } from '../core/settings';

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

/** The authorization settings as JSON (validated by core's parseSettings); the defaults when unset. */
export function settingsEnv(env: Env, name: string): AuthzSettings {
  const json = env[name];
  if (!json) return DEFAULT_SETTINGS;
  try {
    return parseSettings(JSON.parse(json));
  } catch (err) {
    throw new TypeError(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
