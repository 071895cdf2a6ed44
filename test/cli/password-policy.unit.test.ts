/**
 * Passwords are checked against the pool's own policy, never a policy the CLI assumes: the
 * deployed pool (lib/identity.ts, 12 characters) refuses what the local emulator's pool
 * (Cognito's default, 8) accepts.
 */
import { passwordPolicyViolation } from '../../bin/cli/password-policy';
import { PASSWORD_POLICY } from '../../local/cognito';

const DEPLOYED = { MinimumLength: 12, RequireUppercase: true, RequireLowercase: true, RequireNumbers: true, RequireSymbols: true };

test.each([
  ['11 characters: fine locally, too short for the deployed pool', 'Abcdef-1234', undefined, 'shorter than 12 characters'],
  ['12 characters with every class', 'Abcdef-12345', undefined, undefined],
  ['no symbol', 'Abcdef123456', 'needs a symbol', 'needs a symbol'],
  ['no upper case', 'abcdef-12345', 'needs an uppercase letter', 'needs an uppercase letter'],
  ['7 characters', 'Ab-1234', 'shorter than 8 characters', 'shorter than 12 characters'],
  ['a trailing space', 'Abcdef-12345 ', 'cannot start or end with a space', 'cannot start or end with a space'],
])('%s', (_name, password, local, deployed) => {
  expect(passwordPolicyViolation(password, PASSWORD_POLICY)).toBe(local);
  expect(passwordPolicyViolation(password, DEPLOYED)).toBe(deployed);
});
