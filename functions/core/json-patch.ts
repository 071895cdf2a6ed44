/**
 * JSON Patch (RFC 6902), applied by the proxy itself before a FHIR `patch` is forwarded: the
 * compartment check must run on the body that will be stored, so the proxy computes it, checks
 * it, and sends it as a versioned update (If-Match) — what was checked is what gets written.
 * The patch itself is applied by the `rfc6902` library; fhirgate keeps its own checks on the
 * untrusted document first (operation count, shape, pointer syntax, forbidden keys).
 */
import * as rfc6902 from 'rfc6902';
import { RequestError } from './errors';

export interface PatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly from?: string;
  readonly value?: unknown;
}

const bad = (message: string) => new RequestError('ERR_BAD_REQUEST', `invalid JSON Patch: ${message}`);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Validate an untrusted JSON Patch document. */
export function parsePatch(body: unknown): PatchOperation[] {
  if (!Array.isArray(body)) throw bad('body must be an array of operations');
  if (body.length > 1000) throw bad('too many operations');
  return body.map((op, i) => {
    if (typeof op !== 'object' || op === null) throw bad(`operation ${i} is not an object`);
    const { op: name, path, from } = op as Record<string, unknown>;
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(name as string)) throw bad(`operation ${i} has unknown op`);
    if (typeof path !== 'string') throw bad(`operation ${i} has no path`);
    if ((name === 'move' || name === 'copy') && typeof from !== 'string') throw bad(`operation ${i} needs "from"`);
    checkPointer(path, i);
    if (typeof from === 'string') checkPointer(from, i);
    if (['add', 'replace', 'test'].includes(name as string) && !('value' in (op as object))) throw bad(`operation ${i} needs "value"`);
    return op as PatchOperation;
  });
}

/**
 * Apply operations to a deep copy of the document with rfc6902, one at a time, stopping at the
 * first that fails (RFC 6902 §5: the whole patch fails; nothing of it is kept). `test` compares
 * by value, so key order does not matter (§4.6). Throws RequestError naming the operation; the
 * message never echoes the document's values.
 */
export function applyPatch(document: unknown, ops: readonly PatchOperation[]): unknown {
  const doc = structuredClone(document);
  ops.forEach((op, i) => {
    let failure: Error | null | undefined;
    try {
      [failure] = rfc6902.applyPatch(doc, [op as rfc6902.Operation]);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    if (failure) throw bad(`operation ${i} (${op.op} ${op.path.slice(0, 80)}) failed: ${reason(failure, op)}`);
  });
  return doc;
}

/** rfc6902's errors are ES5 subclasses of Error (no working instanceof): told apart by name. */
function reason(failure: Error, op: PatchOperation): string {
  if (failure.name === 'TestError') return 'the value differs';
  if (failure.name === 'MissingError') return op.path === '' && op.op !== 'test' ? 'a patch cannot replace the whole resource' : 'the path does not exist';
  return 'the operation cannot be applied there';
}

/** RFC 6901 pointer syntax, and no key that could reach an object's prototype. */
function checkPointer(path: string, i: number): void {
  if (path !== '' && !path.startsWith('/')) throw bad(`operation ${i}: path "${path.slice(0, 80)}" must start with /`);
  const tokens = path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (tokens.some((t) => FORBIDDEN_KEYS.has(t))) throw bad(`operation ${i}: path names a forbidden key`);
}
