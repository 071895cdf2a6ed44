/**
 * Option values checked while the command line is parsed, so a bad value is a usage error (exit 2)
 * before anything is read or written. The rules are the authorizer's own (functions/core/ids.ts).
 */
import { InvalidArgumentError, Option } from 'commander';
import { FHIR_ID, FHIR_USER_TYPES, parseFhirUser } from '../../functions/core/ids';
import { ROLES } from '../../functions/core/settings';

/** `--patient <id>`, repeatable: each a FHIR id. */
export function patientOption(description: string): Option {
  return new Option('--patient <id>', `${description} (repeat for several)`).argParser(collectPatient);
}

function collectPatient(value: string, previous: string[] | undefined): string[] {
  // Accept `Patient/123` as well as `123`: operators copy references.
  const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
  if (!FHIR_ID.test(id)) throw new InvalidArgumentError('not a FHIR id (1-64 characters of A-Z a-z 0-9 - .)');
  return [...(previous ?? []), id];
}

/** `--fhir-user <Type/id>`: a SMART fhirUser reference. */
export function fhirUserOption(description: string): Option {
  return new Option('--fhir-user <reference>', description).argParser((value: string) => {
    if (!parseFhirUser(value)) throw new InvalidArgumentError(`not a fhirUser reference: one of ${FHIR_USER_TYPES.join(', ')} / a FHIR id`);
    return value;
  });
}

/** `--role <role>`: one of the configured roles. */
export function roleOption(description: string): Option {
  return new Option('--role <role>', description).choices(ROLES);
}

/** `--email <address>`: one `@`, no spaces (Cognito checks the rest). */
export function emailOption(): Option {
  return new Option('--email <address>', "the user's email address (Cognito sends the invitation there)").argParser((value: string) => {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw new InvalidArgumentError('not an email address');
    return value;
  });
}

/** `--user <username or sub>`. */
export function userOption(): Option {
  return new Option('--user <user>', 'the Cognito username or sub').makeOptionMandatory();
}
