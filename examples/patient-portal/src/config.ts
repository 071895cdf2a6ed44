/**
 * The portal's whole configuration: five values, served as `config.json` next to the app so the
 * same bundle runs against the local stack and a deployed one. Pure: no DOM, no Node.
 */

export interface PortalConfig {
  /** AWS region of the user pool (`us-east-1`). */
  readonly region: string;
  readonly userPoolId: string;
  /** The user pool's public web client (no secret: a browser cannot keep one). */
  readonly webClientId: string;
  /**
   * Cognito endpoint override, only for an emulator (the local stack's cognito-local). Absent in
   * AWS: the client then talks to `https://cognito-idp.<region>.amazonaws.com/`.
   */
  readonly cognitoEndpoint?: string;
  /** fhirgate's public FHIR base (`…/fhir`), called with the user's access token. */
  readonly fhirBaseUrl: string;
}

/** Check an untrusted `config.json` value; TypeError naming the field that is wrong. */
export function parsePortalConfig(value: unknown): PortalConfig {
  if (typeof value !== 'object' || value === null) throw new TypeError('portal config: expected a JSON object');
  const v = value as Record<string, unknown>;
  const text = (name: string): string => {
    const field = v[name];
    if (typeof field !== 'string' || field === '') throw new TypeError(`portal config: "${name}" must be a non-empty string`);
    return field;
  };
  const url = (name: string): string => {
    const field = text(name);
    if (!/^https?:\/\/[^/]/.test(field)) throw new TypeError(`portal config: "${name}" must be an http(s) URL, got ${JSON.stringify(field)}`);
    return field.replace(/\/+$/, '');
  };
  const userPoolId = text('userPoolId');
  // amazon-cognito-identity-js refuses any other shape (`<region>_<id>`).
  if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(userPoolId)) throw new TypeError(`portal config: "userPoolId" ${JSON.stringify(userPoolId)} is not a user pool id`);
  return {
    region: text('region'),
    userPoolId,
    webClientId: text('webClientId'),
    ...(v.cognitoEndpoint === undefined ? {} : { cognitoEndpoint: url('cognitoEndpoint') }),
    fhirBaseUrl: url('fhirBaseUrl'),
  };
}

/**
 * The config of a deployed stack, from `cdk deploy --outputs-file <file>`: outputs
 * `FhirBaseUrl`, `UserPoolId` and `WebClientId` of the named stack (or the only one).
 */
export function portalConfigFromCdkOutputs(outputs: unknown, stackName?: string): PortalConfig {
  if (typeof outputs !== 'object' || outputs === null) throw new TypeError('cdk outputs: expected a JSON object');
  const stacks = outputs as Record<string, Record<string, unknown>>;
  const names = stackName === undefined ? Object.keys(stacks) : [stackName];
  if (names.length !== 1 || stacks[names[0]!] === undefined) {
    throw new TypeError(`cdk outputs: name the stack (found ${Object.keys(stacks).join(', ') || 'none'})`);
  }
  const stack = stacks[names[0]!]!;
  const userPoolId = String(stack.UserPoolId ?? '');
  return parsePortalConfig({
    // A user pool id starts with its region (`eu-west-1_AbC123`).
    region: userPoolId.split('_')[0],
    userPoolId,
    webClientId: stack.WebClientId,
    fhirBaseUrl: stack.FhirBaseUrl,
  });
}
