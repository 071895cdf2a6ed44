/**
 * The principal as API Gateway authorizer context: flat string values only (API Gateway drops
 * objects and arrays), read back by the PEP. The PEP trusts the context (only the authorizer can
 * set it) but still parses it strictly: a context it cannot read is a deny, not a default.
 */
import { FhirgateError } from './errors';
import { FHIR_ID, parseFhirUser } from './ids';
import { Principal, PrincipalKind } from './principal';
import { formatScope, parseScopeString, ResourceScope } from './scopes';

export type AuthorizerContext = Readonly<Record<string, string>>;

const KINDS: readonly PrincipalKind[] = ['patient', 'practitioner', 'guardian', 'system', 'delegated'];

/** Flatten a principal into authorizer context values (space-separated lists). */
export function principalToContext(p: Principal): AuthorizerContext {
  const context: Record<string, string> = {
    kind: p.kind,
    sub: p.sub,
    clientId: p.clientId,
    patients: p.patients.join(' '),
    scopes: scopeText(p.scopes),
  };
  if (p.fhirUser !== undefined) context.fhirUser = p.fhirUser;
  if (p.actor !== undefined) context.actor = p.actor;
  return context;
}

/** Formatted scope lists by array identity: a role's default scopes are one shared frozen array (principal.ts). */
const formatted = new WeakMap<readonly ResourceScope[], string>();

function scopeText(scopes: readonly ResourceScope[]): string {
  let text = formatted.get(scopes);
  if (text === undefined) {
    text = scopes.map(formatScope).join(' ');
    // Only frozen arrays can be shared safely: a mutable one could change under the cached text.
    if (Object.isFrozen(scopes)) formatted.set(scopes, text);
  }
  return text;
}

/** Read a principal back from authorizer context; throws when anything is missing or malformed. */
export function principalFromContext(context: Readonly<Record<string, unknown>> | null | undefined): Principal {
  const bad = (why: string) => new FhirgateError('ERR_TOKEN_INVALID', `authorizer context is unusable: ${why}`);
  if (!context) throw bad('missing');
  const get = (key: string): string | undefined => {
    const value = context[key];
    return typeof value === 'string' ? value : undefined;
  };
  const kind = get('kind');
  const sub = get('sub');
  const clientId = get('clientId');
  const patientList = get('patients');
  const scopeText = get('scopes');
  if (!kind || !(KINDS as readonly string[]).includes(kind)) throw bad('kind');
  if (!sub || !clientId || patientList === undefined || scopeText === undefined) throw bad('required field');
  const patients = patientList === '' ? [] : patientList.split(' ');
  if (!patients.every((id) => FHIR_ID.test(id))) throw bad('patients');
  const scopes = parseScopeString(scopeText);
  if (scopes.errors.length > 0 || scopes.foreign.length > 0 || scopes.smart.length > 0) throw bad('scopes');
  const fhirUser = get('fhirUser');
  if (fhirUser !== undefined && !parseFhirUser(fhirUser)) throw bad('fhirUser');
  return {
    kind: kind as PrincipalKind,
    sub,
    clientId,
    fhirUser,
    patients,
    scopes: scopes.resource,
    actor: get('actor'),
  };
}
