/**
 * A user pool's password policy, read from the pool itself (`DescribeUserPool`), and the check a
 * password must pass. The CLI never assumes a policy: the local emulator's pool states Cognito's
 * default (8 characters), the deployed pool requires 12 (lib/identity.ts), and each answers for
 * itself.
 */
import { CognitoIdentityProviderClient, DescribeUserPoolCommand, PasswordPolicyType } from '@aws-sdk/client-cognito-identity-provider';

/** The characters Cognito counts as symbols (Cognito developer guide, "Password policies"). */
const SYMBOLS = new Set('^$*.[]{}()?"!@#%&/\\,><\':;|_~`=+- ');

/** Why the password fails the policy, or undefined when it passes. */
export function passwordPolicyViolation(password: string, policy: PasswordPolicyType): string | undefined {
  const min = policy.MinimumLength ?? 8;
  if (password.length < min) return `shorter than ${min} characters`;
  if (password.length > 256) return 'longer than 256 characters';
  if (policy.RequireUppercase && !/[A-Z]/.test(password)) return 'needs an uppercase letter';
  if (policy.RequireLowercase && !/[a-z]/.test(password)) return 'needs a lowercase letter';
  if (policy.RequireNumbers && !/[0-9]/.test(password)) return 'needs a number';
  if (policy.RequireSymbols && ![...password].some((c) => SYMBOLS.has(c))) return 'needs a symbol';
  if (password !== password.trim()) return 'cannot start or end with a space';
  return undefined;
}

/** The pool's own password policy; Cognito's default when the pool states none. */
export async function readPasswordPolicy(cognito: CognitoIdentityProviderClient, userPoolId: string): Promise<PasswordPolicyType> {
  const out = await cognito.send(new DescribeUserPoolCommand({ UserPoolId: userPoolId }));
  return out.UserPool?.Policies?.PasswordPolicy ?? { MinimumLength: 8, RequireUppercase: true, RequireLowercase: true, RequireNumbers: true, RequireSymbols: true };
}
