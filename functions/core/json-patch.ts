/**
 * JSON Patch (RFC 6902), applied by the proxy itself before a FHIR `patch` is forwarded: the
 * compartment check must run on the body that will be stored, so the proxy computes it, checks
 * it, and sends it as a versioned update (If-Match) — what was checked is what gets written.
 */
import { RequestError } from './errors';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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
    if (['add', 'replace', 'test'].includes(name as string) && !('value' in (op as object))) throw bad(`operation ${i} needs "value"`);
    return op as PatchOperation;
  });
}

/** Apply operations to a deep copy of the document; throws RequestError when an operation fails. */
export function applyPatch(document: unknown, ops: readonly PatchOperation[]): unknown {
  let doc = structuredClone(document) as Json;
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        doc = put(doc, pointer(op.path), structuredClone(op.value) as Json, 'add');
        break;
      case 'remove':
        doc = remove(doc, pointer(op.path));
        break;
      case 'replace':
        doc = put(remove(doc, pointer(op.path)), pointer(op.path), structuredClone(op.value) as Json, 'add');
        break;
      case 'move': {
        const value = get(doc, pointer(op.from!));
        doc = put(remove(doc, pointer(op.from!)), pointer(op.path), value, 'add');
        break;
      }
      case 'copy':
        doc = put(doc, pointer(op.path), structuredClone(get(doc, pointer(op.from!))), 'add');
        break;
      case 'test':
        if (JSON.stringify(get(doc, pointer(op.path))) !== JSON.stringify(op.value)) throw bad(`test failed at ${op.path}`);
        break;
      default:
        throw bad('unknown op');
    }
  }
  return doc;
}

/** RFC 6901 pointer → unescaped tokens. */
function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw bad(`path "${path.slice(0, 80)}" must start with /`);
  const tokens = path.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (tokens.some((t) => FORBIDDEN_KEYS.has(t))) throw bad('path names a forbidden key');
  return tokens;
}

function get(doc: Json, tokens: string[]): Json {
  let node: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(node)) node = node[index(t, node.length - 1)] as Json;
    else if (isObject(node) && Object.prototype.hasOwnProperty.call(node, t)) node = node[t] as Json;
    else throw bad(`path /${tokens.join('/')} does not exist`);
  }
  return node;
}

function put(doc: Json, tokens: string[], value: Json, _mode: 'add'): Json {
  if (tokens.length === 0) return value;
  const parent = get(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(index(last, parent.length), 0, value);
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw bad(`cannot add below a primitive at /${tokens.join('/')}`);
  }
  return doc;
}

function remove(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) throw bad('cannot remove the whole document');
  const parent = get(doc, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(index(last, parent.length - 1), 1);
  else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw bad(`path /${tokens.join('/')} does not exist`);
  return doc;
}

function index(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw bad(`"${token.slice(0, 20)}" is not an array index`);
  const i = Number(token);
  if (i > max) throw bad(`index ${i} out of range`);
  return i;
}

function isObject(node: Json): node is { [key: string]: Json } {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}
