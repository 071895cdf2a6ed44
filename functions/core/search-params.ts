/**
 * FHIR R4 search parameters as the PEP sees them: one typed value per `key=value` occurrence,
 * with the chain, modifier and `_has` structure made explicit (http://hl7.org/fhir/R4/search.html).
 *
 * Strict on purpose (docs/design.md "Security semantics": deny by default): a key whose shape is not one the R4 search
 * grammar defines is refused here, so the decision code never has to guess what a backend would
 * make of it. Values are not interpreted (a comma-OR list stays one string); the decision code
 * reads them, and formatQuery sends them on exactly as they were understood.
 */
import { RequestError } from './errors';
import { FHIR_TYPE } from './ids';

/** One search parameter occurrence, e.g. `subject:Patient.name=Alice` */
export interface SearchParam {
  readonly key: string; // the key exactly as sent: 'subject:Patient.name', '_has:Observation:patient:code', '_include:iterate'
  readonly name: string; // 'subject', '_has', '_include'
  readonly modifier?: string; // 'Patient', 'exact', 'missing', 'iterate', 'not', ... (text after ':' on the first segment)
  readonly chain?: readonly string[]; // ['name'] for subject.name; ['organization','name'] for subject.organization.name
  readonly value: string; // decoded value (comma-OR list left as one string)
}

/** One hop of reverse chaining: `_has:<resourceType>:<param>:…` (search.html#has). */
export interface HasLink {
  readonly resourceType: string;
  readonly param: string;
}

/** Result parameters that shape the response rather than select resources (search.html §3.1.1.5 ff.). */
export const RESULT_PARAMS: ReadonlySet<string> = new Set([
  '_sort',
  '_count',
  '_include',
  '_revinclude',
  '_summary',
  '_total',
  '_elements',
  '_contained',
  '_containedType',
]);

/** Parameters that page through results (backend cursors); only valid in links fhirgate itself issued. */
export const PAGING_PARAMS: ReadonlySet<string> = new Set([
  '_offset',
  'page',
  '_page',
  '_getpages',
  '_getpagesoffset',
  '_cursor',
  '_page_token',
]);

// search.html#ptypes / #modifiers / #chaining: names, modifiers (`:`) and chains (`.`). Nothing
// else can appear in a key we forward, which also means keys never need percent-encoding.
const KEY_CHARS = /^[A-Za-z0-9_\-.:]+$/;
// A parameter name (SearchParameter.code, plus the `_` common parameters like `_lastUpdated`).
const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
// Far above any real key (a few chained links or nested `_has`); bounds the work per key.
const MAX_KEY_LENGTH = 256;
// search.html#modifiers: the R4 list. A resource-type modifier (`subject:Patient`) is
// checked against FHIR_TYPE separately. Anything else (R5 `:code-text`, vendor modifiers) is
// refused: a backend might honour a modifier we cannot reason about.
const MODIFIERS: ReadonlySet<string> = new Set(['missing', 'exact', 'contains', 'text', 'not', 'above', 'below', 'in', 'not-in', 'of-type', 'identifier']);
// search.html#include: `:iterate` (R4), `:recurse` (its STU3 name, still sent).
const INCLUDE_MODIFIERS: ReadonlySet<string> = new Set(['iterate', 'recurse']);

/** Parse one query key/value into a SearchParam (chains, modifiers, _has); throws RequestError on malformed keys. */
export function parseSearchParam(key: string, value: string): SearchParam {
  if (key === '') bad('empty search parameter name');
  if (key.length > MAX_KEY_LENGTH) bad(`search parameter name '${preview(key)}' is longer than ${MAX_KEY_LENGTH} characters`);
  if (!KEY_CHARS.test(key)) {
    bad(`search parameter name '${preview(key)}' has characters outside [A-Za-z0-9_-.:]`, { actual: preview(key) });
  }
  if (key === '_has' || key.startsWith('_has:')) {
    parseHasKey(key);
    return Object.freeze({ key, name: '_has', value });
  }

  // search.html#chaining: `subject:Patient.organization.name`.
  const links = key.split('.');
  const [name, modifier] = nameAndModifier(links[0] ?? '', key);
  const chain = links.slice(1).map((link, i) => chainLink(link, i === links.length - 2, key));

  if (name === '_include' || name === '_revinclude') {
    if (chain.length > 0) bad(`'${preview(key)}' cannot be chained`);
    if (modifier !== undefined && !INCLUDE_MODIFIERS.has(modifier)) {
      unsupported(`'${name}' takes only the ':iterate' modifier, not ':${modifier}'`);
    }
    checkIncludeValue(name, value);
  } else if (modifier !== undefined) {
    // A chain runs through a reference, so only a type modifier can sit before it (`subject:Patient.name`).
    if (chain.length > 0 && !FHIR_TYPE.test(modifier)) {
      bad(`'${preview(key)}': only a resource-type modifier may precede a chain, not ':${modifier}'`);
    }
    if (!MODIFIERS.has(modifier) && !FHIR_TYPE.test(modifier)) {
      unsupported(`search modifier ':${modifier}' on '${name}' is not supported (R4 modifiers or a resource type)`, {
        actual: modifier,
      });
    }
  }

  const param: { key: string; name: string; modifier?: string; chain?: readonly string[]; value: string } = { key, name, value };
  if (modifier !== undefined) param.modifier = modifier;
  if (chain.length > 0) param.chain = Object.freeze(chain);
  return Object.freeze(param);
}

/**
 * The hops and final parameter of a `_has` key (search.html#has): `_has:Observation:patient:code`
 * → links [{Observation, patient}], param 'code'; nested `_has` adds a hop. Throws on any other shape.
 */
export function parseHasKey(key: string): { readonly links: readonly HasLink[]; readonly param: string } {
  const parts = key.split(':');
  const links: HasLink[] = [];
  let i = 0;
  while (parts[i] === '_has') {
    const resourceType = parts[i + 1];
    const param = parts[i + 2];
    if (resourceType === undefined || param === undefined || !FHIR_TYPE.test(resourceType) || !NAME.test(param)) {
      bad(`'${preview(key)}' is not _has:Type:referenceParam:param (search.html#has)`);
    }
    links.push(Object.freeze({ resourceType, param }));
    i += 3;
  }
  const param = parts[i];
  // The final parameter is a plain name: no modifier (an extra ':'), no chain (NAME has no '.').
  if (links.length === 0 || i !== parts.length - 1 || param === undefined || !NAME.test(param)) {
    bad(`'${preview(key)}' is not _has:Type:referenceParam:param (search.html#has; no modifiers or chains on the last part)`);
  }
  return Object.freeze({ links: Object.freeze(links), param });
}

/**
 * Parse `a=b&c=d` (form body of POST _search, or If-None-Exist header) into decoded pairs.
 * application/x-www-form-urlencoded decoding: `+` is a space, then percent-decoding (so a literal
 * `+` arrives as `%2B`). Empty pieces (`a=b&&c=d`, a trailing `&`) carry nothing and are skipped;
 * a piece without `=` is a key with an empty value. More than maxPairs pairs throws, before the
 * rest of a large body is split into objects.
 */
export function parseFormPairs(text: string, maxPairs = Number.POSITIVE_INFINITY): [string, string][] {
  const out: [string, string][] = [];
  let start = 0;
  while (start <= text.length) {
    const amp = text.indexOf('&', start);
    const end = amp < 0 ? text.length : amp;
    const piece = text.slice(start, end);
    start = end + 1;
    if (piece === '') continue;
    if (out.length >= maxPairs) bad(`more than ${maxPairs} parameters`);
    const eq = piece.indexOf('=');
    out.push(eq < 0 ? [formDecode(piece), ''] : [formDecode(piece.slice(0, eq)), formDecode(piece.slice(eq + 1))]);
  }
  return out;
}

/** Serialise params back into a query string (percent-encoding values; keys kept as sent), in order. */
export function formatQuery(params: readonly SearchParam[]): string {
  return params.map((p) => `${p.key}=${encodeValue(p.value)}`).join('&');
}

/** Shorten client text before it goes into an error message or a log line. */
export function preview(s: string): string {
  return s.length <= 80 ? s : `${s.slice(0, 80)}…`;
}

/** `name` or `name:modifier`, the first link of a key. */
function nameAndModifier(segment: string, key: string): [string, string | undefined] {
  const parts = segment.split(':');
  const [name, modifier] = parts;
  if (name === undefined || !NAME.test(name)) bad(`search parameter name '${preview(key)}' does not start with a parameter name`);
  if (parts.length > 2) bad(`search parameter '${preview(key)}' has more than one modifier`);
  if (modifier !== undefined && !/^[A-Za-z][A-Za-z0-9-]*$/.test(modifier)) bad(`search parameter '${preview(key)}' has an empty or malformed modifier`);
  return [name, modifier];
}

/**
 * One chained link after the first, kept as sent: `organization` or, on a link that is itself a
 * reference, `organization:Organization`. The last link names the target parameter and takes no modifier.
 */
function chainLink(link: string, last: boolean, key: string): string {
  const [name, type, ...rest] = link.split(':');
  if (name === undefined || !NAME.test(name)) bad(`chained parameter '${preview(key)}' has an empty or malformed link`);
  if (type !== undefined) {
    if (last) unsupported(`chained parameter '${preview(key)}': modifiers on the last link of a chain are not supported`);
    if (!FHIR_TYPE.test(type) || rest.length > 0) bad(`chained parameter '${preview(key)}': a link can only carry a resource-type modifier`);
  }
  return link;
}

/** `_include`/`_revinclude` value: `*`, `Type:param` or `Type:param:TargetType` (search.html#include). */
function checkIncludeValue(name: string, value: string): void {
  if (value === '*') return;
  const [source, param, target, ...rest] = value.split(':');
  const ok =
    source !== undefined &&
    FHIR_TYPE.test(source) &&
    param !== undefined &&
    NAME.test(param) &&
    (target === undefined || FHIR_TYPE.test(target)) &&
    rest.length === 0;
  if (!ok) bad(`'${name}' value '${preview(value)}' is not '*', Type:param or Type:param:TargetType`, { actual: preview(value) });
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return bad(`malformed percent-encoding in '${preview(s)}'`);
  }
}

/**
 * encodeURIComponent, but `,` `:` `/` stay literal: a server that splits a comma-OR list before
 * percent-decoding must see the same list we checked, and `:`/`/` keep references and system|code
 * values readable. (`|` is encoded: some servers refuse it raw in a request target.)
 */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%2C/g, ',').replace(/%3A/g, ':').replace(/%2F/g, '/');
}

function bad(message: string, evidence: { actual?: string } = {}): never {
  throw new RequestError('ERR_BAD_REQUEST', message, evidence);
}

function unsupported(message: string, evidence: { actual?: string } = {}): never {
  throw new RequestError('ERR_UNSUPPORTED', message, evidence);
}
