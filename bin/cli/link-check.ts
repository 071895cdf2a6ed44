/**
 * Would the authorizer accept this link record, and what would the user get? Answered by the
 * authorizer's own code (`parseLinkRecord`, then `userPrincipal` for a plain sign-in token), so
 * the CLI never writes a record the authorizer would refuse and never disagrees with it.
 */
import { AccessDeniedError, FhirgateError } from '../../functions/core/errors';
import { LinkRecord, parseLinkRecord, Principal, userPrincipal } from '../../functions/core/principal';
import { formatScope, parseScopeString } from '../../functions/core/scopes';
import type { AuthzSettings } from '../../functions/core/settings';
import { UsageError } from './errors';
import type { LinkValues } from './link-table';

export interface LinkCheck {
  readonly record: LinkRecord;
  /** What a plain sign-in token of this user is granted (role default scopes); absent when refused. */
  readonly grants?: { readonly patients: readonly string[]; readonly scopes: readonly string[] };
  /** Set when the record is valid but the user's tokens will be refused (no usable scope). */
  readonly warning?: string;
}

/** Validate a record to write; a UsageError (exit 2) with the authorizer's reason when it is malformed. */
export function checkLink(values: LinkValues, settings: AuthzSettings): LinkCheck {
  let record: LinkRecord;
  try {
    // What the record grants when enabled: a disabled marker is reported by the caller, not checked here.
    const { sub, role, fhirUser, patients } = values;
    record = parseLinkRecord({ sub, role, fhirUser, patients: [...patients] });
  } catch (err) {
    throw new UsageError(reason(err));
  }
  // A Cognito sign-in token: no FHIR scopes, groups not consulted (the CLI manages those itself).
  const token = { shape: 'user' as const, sub: values.sub, clientId: 'fhirgate-cli', groups: undefined, scopes: parseScopeString(undefined) };
  let principal: Principal;
  try {
    principal = userPrincipal(token, record, settings);
  } catch (err) {
    if (err instanceof AccessDeniedError && err.code === 'ERR_SCOPE_INSUFFICIENT') {
      return { record, warning: `the authorizer will refuse this user's tokens until they are linked to a patient (${err.message})` };
    }
    throw new UsageError(reason(err));
  }
  return { record, grants: { patients: principal.patients, scopes: principal.scopes.map(formatScope) } };
}

function reason(err: unknown): string {
  return err instanceof FhirgateError ? err.message : String(err);
}
