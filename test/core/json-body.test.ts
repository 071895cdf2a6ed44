/**
 * Request bodies (core/json-body.ts): what JSON.parse would silently accept and fhirgate refuses,
 * with the refusal naming what was wrong but never echoing a long value.
 */
import { RequestError } from '../../functions/core/errors';
import { parseJsonBody, utf8Length } from '../../functions/core/json-body';

describe('refused', () => {
  test.each([
    ['the same key twice (checked as one value, stored as another)', '{"subject":{"reference":"Patient/a"},"subject":{"reference":"Patient/b"}}', /twice/],
    ['the same key twice, once escaped', '{"subject":1,"\\u0073ubject":2}', /twice/],
    ['__proto__ anywhere', '{"a":[{"__proto__":{"x":1}}]}', /__proto__/],
    ['constructor', '{"constructor":{"prototype":{}}}', /constructor/],
    ['nesting past the limit', `${'['.repeat(65)}${']'.repeat(65)}`, /deeper than 64/],
    ['not JSON', '{"a":', /not valid JSON/],
  ])('%s', (_name, text, message) => {
    expect(() => parseJsonBody(text, 64)).toThrow(RequestError);
    expect(() => parseJsonBody(text, 64)).toThrow(message);
  });

  test('a duplicate key in the message is cut short, not echoed whole', () => {
    const key = 'k'.repeat(500);
    expect(() => parseJsonBody(`{"${key}":1,"${key}":2}`, 64)).toThrow(/k{80}…/);
  });
});

describe('accepted', () => {
  test.each([
    ['the same key in sibling objects', '[{"a":1},{"a":2}]', [{ a: 1 }, { a: 2 }]],
    ['keys that only look like prototype keys in values', '{"a":"__proto__"}', { a: '__proto__' }],
    ['a quote inside a string', '{"a":"x\\"y","b":1}', { a: 'x"y', b: 1 }],
    ['nesting at the limit', `${'['.repeat(64)}${']'.repeat(64)}`, JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`)],
  ])('%s', (_name, text, value) => {
    expect(parseJsonBody(text, 64)).toEqual(value);
  });
});

test('utf8Length counts bytes and stops past the limit', () => {
  expect(utf8Length('aé€😀', 100)).toBe(1 + 2 + 3 + 4);
  expect(utf8Length('x'.repeat(10), 5)).toBe(10);
});
