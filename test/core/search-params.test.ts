/**
 * Contract suite for FHIR R4 search parameter parsing (http://hl7.org/fhir/R4/search.html).
 * Every case names the `key=value` it parses; tables are grouped by outcome.
 */
import { RequestError } from '../../functions/core/errors';
import {
  formatQuery,
  PAGING_PARAMS,
  parseFormPairs,
  parseHasKey,
  parseSearchParam,
  RESULT_PARAMS,
} from '../../functions/core/search-params';
import type { SearchParam } from '../../functions/core/search-params';

/** Run fn and return the RequestError it throws. */
function refusal(fn: () => unknown): RequestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RequestError) return e;
    throw e;
  }
  throw new Error('expected a RequestError');
}

describe('parseSearchParam understands names, modifiers, chains, _has and _include', () => {
  test.each<[string, string, Omit<SearchParam, 'key' | 'value'>]>([
    ['code', 'http://loinc.org|1234-5', { name: 'code' }],
    ['_id', 'a,b', { name: '_id' }],
    ['_lastUpdated', 'gt2020-01-01', { name: '_lastUpdated' }],
    ['name:exact', 'Alice', { name: 'name', modifier: 'exact' }],
    ['subject:missing', 'true', { name: 'subject', modifier: 'missing' }],
    ['code:not-in', 'http://x/vs', { name: 'code', modifier: 'not-in' }],
    ['subject:Patient', '123', { name: 'subject', modifier: 'Patient' }],
    ['subject.name', 'Alice', { name: 'subject', chain: ['name'] }],
    ['subject:Patient.name', 'Alice', { name: 'subject', modifier: 'Patient', chain: ['name'] }],
    ['subject.organization.name', 'Acme', { name: 'subject', chain: ['organization', 'name'] }],
    // a type modifier on an inner link is kept in the chain element as sent
    ['subject:Patient.general-practitioner:Practitioner.name', 'Bob', { name: 'subject', modifier: 'Patient', chain: ['general-practitioner:Practitioner', 'name'] }],
    ['_has:Observation:patient:code', '1234-5', { name: '_has' }],
    ['_has:Observation:patient:_has:AuditEvent:entity:agent', 'u1', { name: '_has' }],
    ['_include', 'Observation:subject', { name: '_include' }],
    ['_include', 'Observation:subject:Patient', { name: '_include' }],
    ['_include', '*', { name: '_include' }],
    ['_include:iterate', 'Patient:general-practitioner', { name: '_include', modifier: 'iterate' }],
    ['_revinclude:recurse', 'Provenance:target', { name: '_revinclude', modifier: 'recurse' }],
  ])('%s=%s', (key, value, expected) => {
    const p = parseSearchParam(key, value);
    expect(p).toEqual({ key, value, ...expected });
    expect(Object.isFrozen(p)).toBe(true);
  });
});

describe('parseSearchParam refuses keys it cannot reason about (400, with the reason)', () => {
  test.each<[string, string, string, string]>([
    ['', 'x', 'ERR_BAD_REQUEST', 'empty search parameter name'],
    ['na me', 'x', 'ERR_BAD_REQUEST', 'characters outside'],
    ['name[0]', 'x', 'ERR_BAD_REQUEST', 'characters outside'],
    ['code%3Atext', 'x', 'ERR_BAD_REQUEST', 'characters outside'],
    [':exact', 'x', 'ERR_BAD_REQUEST', 'does not start with a parameter name'],
    ['1code', 'x', 'ERR_BAD_REQUEST', 'does not start with a parameter name'],
    ['name:', 'x', 'ERR_BAD_REQUEST', 'empty or malformed modifier'],
    ['name:exact:text', 'x', 'ERR_BAD_REQUEST', 'more than one modifier'],
    ['code:code-text', 'x', 'ERR_UNSUPPORTED', "modifier ':code-text'"],
    ['name:iterate', 'x', 'ERR_UNSUPPORTED', "modifier ':iterate'"],
    ['subject.', 'x', 'ERR_BAD_REQUEST', 'empty or malformed link'],
    ['subject..name', 'x', 'ERR_BAD_REQUEST', 'empty or malformed link'],
    ['subject:exact.name', 'x', 'ERR_BAD_REQUEST', 'only a resource-type modifier may precede a chain'],
    ['subject.name:exact', 'x', 'ERR_UNSUPPORTED', 'last link of a chain'],
    ['subject.organization:org.name', 'x', 'ERR_BAD_REQUEST', 'resource-type modifier'],
    ['_has', 'x', 'ERR_BAD_REQUEST', 'is not _has:Type:referenceParam:param'],
    ['_has:Observation:patient', 'x', 'ERR_BAD_REQUEST', 'is not _has:Type:referenceParam:param'],
    ['_has:observation:patient:code', 'x', 'ERR_BAD_REQUEST', 'is not _has:Type:referenceParam:param'],
    ['_has:Observation:patient:code:text', 'x', 'ERR_BAD_REQUEST', 'no modifiers or chains'],
    ['_has:Observation:patient:code.system', 'x', 'ERR_BAD_REQUEST', 'is not _has'],
    ['_has:Observation:patient:_has', 'x', 'ERR_BAD_REQUEST', 'is not _has'],
    ['_include', 'Observation', 'ERR_BAD_REQUEST', "is not '*', Type:param"],
    ['_include', 'observation:subject', 'ERR_BAD_REQUEST', "is not '*', Type:param"],
    ['_include', 'Observation:subject,Observation:performer', 'ERR_BAD_REQUEST', "is not '*', Type:param"],
    ['_revinclude', 'A:b:C:d', 'ERR_BAD_REQUEST', "is not '*', Type:param"],
    ['_include', '', 'ERR_BAD_REQUEST', "is not '*', Type:param"],
    ['_include:exact', 'Observation:subject', 'ERR_UNSUPPORTED', "only the ':iterate' modifier"],
    ['_include.subject', 'Observation:subject', 'ERR_BAD_REQUEST', 'cannot be chained'],
  ])('%s=%s → %s', (key, value, code, fragment) => {
    const e = refusal(() => parseSearchParam(key, value));
    expect(e.code).toBe(code);
    expect(e.status).toBe(400);
    expect(e.message).toContain(fragment);
  });

  test('a 301-character key → 400, longer than 256', () => {
    expect(refusal(() => parseSearchParam(`a${'b'.repeat(300)}`, 'x')).message).toContain('longer than 256');
  });

  test('a long hostile key is echoed at most ~80 characters', () => {
    const e = refusal(() => parseSearchParam(`x ${'y'.repeat(10_000)}`, 'v'));
    expect(e.message.length).toBeLessThan(200);
  });
});

describe('parseHasKey exposes the _has hops for the decision code', () => {
  test('_has:Observation:patient:_has:AuditEvent:entity:agent', () => {
    expect(parseHasKey('_has:Observation:patient:_has:AuditEvent:entity:agent')).toEqual({
      links: [
        { resourceType: 'Observation', param: 'patient' },
        { resourceType: 'AuditEvent', param: 'entity' },
      ],
      param: 'agent',
    });
  });
});

describe('parseFormPairs decodes application/x-www-form-urlencoded', () => {
  test.each<[string, [string, string][]]>([
    ['a=b&c=d', [['a', 'b'], ['c', 'd']]],
    ['name=Alice+Smith', [['name', 'Alice Smith']]],
    ['code=a%2Bb', [['code', 'a+b']]],
    ['identifier=http%3A%2F%2Fx%7C1', [['identifier', 'http://x|1']]],
    ['code=1&code=2&code=3', [['code', '1'], ['code', '2'], ['code', '3']]],
    ['a=b&&c=d&', [['a', 'b'], ['c', 'd']]],
    ['flag', [['flag', '']]],
    ['a=b=c', [['a', 'b=c']]],
    ['', []],
  ])('%j', (text, expected) => {
    expect(parseFormPairs(text)).toEqual(expected);
  });

  test('a=%E0%A4%A (malformed percent-encoding) → 400', () => {
    const e = refusal(() => parseFormPairs('a=%E0%A4%A'));
    expect(e.status).toBe(400);
    expect(e.message).toContain('malformed percent-encoding');
  });

  test('more pairs than maxPairs → 400 before the rest is split', () => {
    const e = refusal(() => parseFormPairs('a=1&b=2&c=3', 2));
    expect(e.message).toContain('more than 2 parameters');
  });
});

describe('formatQuery serialises what was understood, in order', () => {
  const params = [
    parseSearchParam('subject:Patient.name', 'Alice Smith'),
    parseSearchParam('code', 'http://loinc.org|1234-5,http://loinc.org|999'),
    parseSearchParam('code', 'a+b&c=d#e'),
    parseSearchParam('_has:Observation:patient:code', '1234-5'),
    parseSearchParam('_include:iterate', 'Patient:general-practitioner'),
    parseSearchParam('value-string', 'ünï\\,code%'),
  ];

  test('keys as sent, values percent-encoded; `,` `:` `/` stay literal', () => {
    expect(formatQuery(params)).toBe(
      'subject:Patient.name=Alice%20Smith' +
        '&code=http://loinc.org%7C1234-5,http://loinc.org%7C999' +
        '&code=a%2Bb%26c%3Dd%23e' +
        '&_has:Observation:patient:code=1234-5' +
        '&_include:iterate=Patient:general-practitioner' +
        '&value-string=%C3%BCn%C3%AF%5C,code%25',
    );
  });

  test('round-trip: parseFormPairs(formatQuery(params)) gives back the same params', () => {
    const again = parseFormPairs(formatQuery(params)).map(([k, v]) => parseSearchParam(k, v));
    expect(again).toEqual(params);
  });

  test('no params → empty string', () => {
    expect(formatQuery([])).toBe('');
  });
});

describe('RESULT_PARAMS and PAGING_PARAMS', () => {
  test('result parameters (search.html §3.1.1.5 ff.)', () => {
    expect([...RESULT_PARAMS].sort()).toEqual(
      ['_contained', '_containedType', '_count', '_elements', '_include', '_revinclude', '_sort', '_summary', '_total'].sort(),
    );
  });
  test('paging cursors', () => {
    expect([...PAGING_PARAMS].sort()).toEqual(['_cursor', '_getpages', '_getpagesoffset', '_offset', '_page', '_page_token', 'page'].sort());
  });
});
