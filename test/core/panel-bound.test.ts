/**
 * The panel bound: a link holds at most MAX_LINKED_PATIENTS patients. At the bound the principal
 * still fits the authorizer result API Gateway accepts (8 KB); past it the link is refused with a
 * reason that says so — never truncated.
 */
import { fhirPolicy } from '../../functions/authorizer/policy';
import { AccessDeniedError } from '../../functions/core/errors';
import { MAX_LINKED_PATIENTS, parseLinkRecord, Principal } from '../../functions/core/principal';
import { principalToContext } from '../../functions/core/principal-context';
import { parseScopeString } from '../../functions/core/scopes';

/** FHIR ids of the maximum length (64), all different. */
const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${String(i).padStart(4, '0')}`.padEnd(64, 'x'));

test('at the bound the link is accepted; one more is refused with ERR_LINK_INVALID naming the bound', () => {
  expect(parseLinkRecord({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ids(MAX_LINKED_PATIENTS) }).patients).toHaveLength(MAX_LINKED_PATIENTS);
  let thrown: unknown;
  try {
    parseLinkRecord({ sub: 'u-doc', role: 'practitioner', fhirUser: 'Practitioner/prac-1', patients: ids(MAX_LINKED_PATIENTS + 1) });
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AccessDeniedError);
  expect(thrown).toMatchObject({ code: 'ERR_LINK_INVALID', status: 403, message: `link record is invalid: it lists ${MAX_LINKED_PATIENTS + 1} patients; fhirgate supports at most ${MAX_LINKED_PATIENTS} per user` });
});

test('duplicates do not count against the bound', () => {
  const list = [...ids(MAX_LINKED_PATIENTS), ...ids(10)];
  expect(parseLinkRecord({ sub: 'u-doc', role: 'practitioner', patients: list }).patients).toHaveLength(MAX_LINKED_PATIENTS);
});

test('a full panel of the longest ids fits in an authorizer result under 8 KB (the budget the bound is set for)', () => {
  const p: Principal = {
    kind: 'practitioner',
    sub: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    clientId: '1example23456789012345678',
    fhirUser: 'Practitioner/prac-1',
    patients: ids(MAX_LINKED_PATIENTS),
    scopes: parseScopeString('user/*.rs user/Observation.cu user/Condition.cu user/Encounter.cu').resource,
  };
  const result = fhirPolicy('Allow', p.sub, 'arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/fhir/Patient', principalToContext(p));
  expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(8192);
});
