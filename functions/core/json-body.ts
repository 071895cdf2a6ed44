/**
 * Request bodies as JSON, refusing what JSON.parse silently accepts: nesting deeper than a limit,
 * the same key twice in one object, and prototype keys anywhere. A FHIR body that reaches the
 * decision code has exactly one value for every key it was checked on.
 */
import { ErrorEvidence, RequestError } from './errors';
import { preview } from './search-params';

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** JSON.parse after one linear scan that finds what JSON.parse hides: depth, duplicate keys, prototype keys. */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  scanJson(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch {
    return bad('body is not valid JSON');
  }
}

/**
 * One pass over the text, tracking only string boundaries and brackets (linear time, no
 * recursion, so 10 000 `[` cost nothing). Duplicate keys would let `{"subject":A,"subject":B}`
 * be checked as one value and stored as another; keys are compared decoded, so `"\u0073ubject"`
 * is `subject` too. Invalid JSON is not reported here; JSON.parse reports it next.
 */
function scanJson(text: string, maxDepth: number): void {
  const stack: (Set<string> | null)[] = []; // one Set of seen keys per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const keys = stack[stack.length - 1];
      if (!expectKey || !keys) continue;
      expectKey = false;
      const key = decodeKey(text.slice(start, i + 1));
      if (FORBIDDEN_KEYS.has(key)) bad(`body has a '${key}' key, which is refused anywhere in a body`);
      if (keys.has(key)) bad(`body has the key '${preview(key)}' twice in one object`, { actual: preview(key) });
      keys.add(key);
    } else if (c === '{' || c === '[') {
      stack.push(c === '{' ? new Set() : null);
      if (stack.length > maxDepth) bad(`body nests deeper than ${maxDepth} levels`);
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
}

function decodeKey(token: string): string {
  try {
    return JSON.parse(token) as string;
  } catch {
    return bad('body is not valid JSON');
  }
}

/** UTF-8 size of a JS string, counting no further than needed to exceed `limit`. */
export function utf8Length(s: string, limit: number): number {
  if (s.length > limit) return s.length; // every UTF-16 unit is at least one byte
  let n = 0;
  for (let i = 0; i < s.length && n <= limit; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes: 2 for each half (a lone surrogate is approximated the same way).
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return n;
}

function bad(message: string, evidence: ErrorEvidence = {}): never {
  throw new RequestError('ERR_BAD_REQUEST', message, evidence);
}
