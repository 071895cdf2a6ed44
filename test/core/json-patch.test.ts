/**
 * JSON Patch as the proxy applies it (functions/core/json-patch.ts): rfc6902 does the patching,
 * fhirgate's own checks guard the untrusted document first. Cases from RFC 6902 §4 and §5 and
 * from what an attacker would send.
 */
import { RequestError } from '../../functions/core/errors';
import { applyPatch, parsePatch } from '../../functions/core/json-patch';

const obs = () => ({
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  subject: { reference: 'Patient/pat-alice', display: 'Alice' },
  code: { coding: [{ system: 'http://loinc.org', code: '1234-5' }] },
});
const patch = (doc: unknown, ops: unknown) => applyPatch(doc, parsePatch(ops));

describe('RFC 6902 §4.6 test: values compare by value, not by serialization', () => {
  test('an object whose members are in another order is equal (key order does not matter)', () => {
    const ops = [
      { op: 'test', path: '/subject', value: { display: 'Alice', reference: 'Patient/pat-alice' } },
      { op: 'replace', path: '/status', value: 'amended' },
    ];
    expect(patch(obs(), ops)).toMatchObject({ status: 'amended' });
  });
  test('nested objects in arrays, members reordered, are equal', () => {
    expect(() => patch(obs(), [{ op: 'test', path: '/code', value: { coding: [{ code: '1234-5', system: 'http://loinc.org' }] } }])).not.toThrow();
  });
  test('arrays in another order are not equal', () => {
    const doc = { ...obs(), category: [{ text: 'a' }, { text: 'b' }] };
    expect(() => patch(doc, [{ op: 'test', path: '/category', value: [{ text: 'b' }, { text: 'a' }] }])).toThrow(/operation 0 \(test \/category\) failed: the value differs/);
  });
  test('a different value fails the whole patch, and says so without echoing the stored value', () => {
    const err = (() => {
      try {
        patch(obs(), [{ op: 'test', path: '/subject/reference', value: 'Patient/pat-bob' }]);
      } catch (e) {
        return e as RequestError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RequestError);
    expect(err!.message).not.toContain('pat-alice');
  });
});

describe('RFC 6902 §5: the whole patch or nothing', () => {
  test('a failing operation after a successful one leaves the input untouched and throws', () => {
    const doc = obs();
    expect(() => patch(doc, [{ op: 'replace', path: '/status', value: 'amended' }, { op: 'remove', path: '/nope' }])).toThrow(/operation 1 \(remove \/nope\) failed: the path does not exist/);
    expect(doc.status).toBe('final');
  });
  test('the input document is never mutated, even by a patch that succeeds', () => {
    const doc = obs();
    const out = patch(doc, [{ op: 'add', path: '/code/coding/-', value: { code: 'x' } }]);
    expect(doc.code.coding).toHaveLength(1);
    expect((out as ReturnType<typeof obs>).code.coding).toHaveLength(2);
  });
});

describe('every operation (RFC 6902 §4.1–4.5)', () => {
  test.each([
    ['add a member', { op: 'add', path: '/issued', value: '2024-01-01' }, (d: any) => d.issued === '2024-01-01'],
    ['add into an array at an index', { op: 'add', path: '/code/coding/0', value: { code: 'first' } }, (d: any) => d.code.coding[0].code === 'first' && d.code.coding.length === 2],
    ['remove', { op: 'remove', path: '/subject/display' }, (d: any) => !('display' in d.subject)],
    ['replace', { op: 'replace', path: '/subject/reference', value: 'Patient/pat-bob' }, (d: any) => d.subject.reference === 'Patient/pat-bob'],
    ['move', { op: 'move', from: '/subject/display', path: '/note' }, (d: any) => d.note === 'Alice' && !('display' in d.subject)],
    ['copy', { op: 'copy', from: '/status', path: '/statusCopy' }, (d: any) => d.statusCopy === 'final' && d.status === 'final'],
  ])('%s', (_name, op, holds) => {
    expect(holds(patch(obs(), [op]))).toBe(true);
  });

  test.each([
    ['replace of a missing member', { op: 'replace', path: '/issued', value: 'x' }, /the path does not exist/],
    ['add below a missing parent', { op: 'add', path: '/a/b', value: 1 }, /the path does not exist/],
    ['an array index past the end', { op: 'add', path: '/code/coding/5', value: {} }, /the path does not exist/],
    ['an array index with a leading zero', { op: 'add', path: '/code/coding/01', value: {} }, /the path does not exist/],
    ['replacing the whole resource', { op: 'replace', path: '', value: { resourceType: 'Patient' } }, /cannot replace the whole resource/],
    ['moving a value into its own child', { op: 'move', from: '/subject', path: '/subject/inner' }, /failed/],
  ])('refused: %s', (_name, op, message) => {
    expect(() => patch(obs(), [op])).toThrow(message);
  });
});

describe("fhirgate's own checks on the untrusted document, before rfc6902 sees it", () => {
  test.each([
    ['not an array', { op: 'add' }, /must be an array/],
    ['an unknown op', [{ op: 'merge', path: '/a', value: 1 }], /unknown op/],
    ['no path', [{ op: 'remove' }], /has no path/],
    ['add without a value', [{ op: 'add', path: '/a' }], /needs "value"/],
    ['move without from', [{ op: 'move', path: '/a' }], /needs "from"/],
    ['a path without the leading slash', [{ op: 'remove', path: 'status' }], /must start with \//],
    ['__proto__ in the path', [{ op: 'add', path: '/__proto__/polluted', value: true }], /forbidden key/],
    ['constructor/prototype in the path', [{ op: 'add', path: '/constructor/prototype/polluted', value: true }], /forbidden key/],
    ['__proto__ in from', [{ op: 'copy', from: '/__proto__', path: '/x' }], /forbidden key/],
    ['an escaped __proto__ (~0, ~1 decoded first)', [{ op: 'add', path: '/a~1b/__proto__', value: 1 }], /forbidden key/],
    ['more than 1000 operations', Array.from({ length: 1001 }, () => ({ op: 'test', path: '/status', value: 'final' })), /too many operations/],
  ])('%s', (_name, ops, message) => {
    expect(() => parsePatch(ops)).toThrow(message);
  });

  test('nothing reaches Object.prototype', () => {
    expect(() => patch(obs(), [{ op: 'add', path: '/__proto__/polluted', value: true }])).toThrow(RequestError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
