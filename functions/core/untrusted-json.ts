/**
 * Reading untrusted JSON (request bodies, backend responses) without ever following the
 * prototype chain: only own properties, so `__proto__`, `constructor` and friends are data, not
 * paths into Object.prototype.
 */

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the object itself (not its prototype) has the key. */
export function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

/** The object's own value at key, or undefined. */
export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return hasOwn(object, key) ? object[key] : undefined;
}
