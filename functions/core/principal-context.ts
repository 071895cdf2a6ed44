/**
 * The principal as API Gateway authorizer context: flat string values only (API Gateway drops
 * objects and arrays), read back by the PEP. The PEP trusts the context (only the authorizer can
 * set it) but still parses it strictly: a context it cannot read is a deny, not a default.
 */
import { FhirgateError } from './errors';
import { FHIR_ID, parseFhirUser } from './ids';
import { Principal, PrincipalKind } from './principal';
import { formatScope, parseScopeStringShared, ResourceScope } from './scopes';

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
  if (!context) throw unusable('missing');
  const kind = stringAt(context, 'kind');
  const sub = stringAt(context, 'sub');
  const clientId = stringAt(context, 'clientId');
  const patientList = stringAt(context, 'patients');
  const scopeText = stringAt(context, 'scopes');
  if (!kind || !(KINDS as readonly string[]).includes(kind)) throw unusable('kind');
  if (!sub || !clientId || patientList === undefined || scopeText === undefined) throw unusable('required field');
  const patients = patientList === '' ? [] : patientList.includes(' ') ? patientList.split(' ') : [patientList];
  if (!patients.every((id) => FHIR_ID.test(id))) throw unusable('patients');
  // The same few scope texts arrive on every request: parsed once (frozen, bounded: scopes.ts).
  const scopes = parseScopeStringShared(scopeText);
  if (scopes.errors.length > 0 || scopes.foreign.length > 0 || scopes.smart.length > 0) throw unusable('scopes');
  const fhirUser = stringAt(context, 'fhirUser');
  if (fhirUser !== undefined && !parseFhirUser(fhirUser)) throw unusable('fhirUser');
  return {
    kind: kind as PrincipalKind,
    sub,
    clientId,
    fhirUser,
    patients,
    scopes: scopes.resource,
    actor: stringAt(context, 'actor'),
  };
}

function stringAt(context: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = context[key];
  return typeof value === 'string' ? value : undefined;
}

function unusable(why: string): FhirgateError {
  return new FhirgateError('ERR_TOKEN_INVALID', `authorizer context is unusable: ${why}`);
}
