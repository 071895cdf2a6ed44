/**
 * The portal's whole configuration: the FHIR base and the app's SMART client id, served as
 * `config.json` next to the app so the same bundle runs against the local stack and a deployed
 * one. Everything else (authorize and token endpoints) comes from fhirgate's
 * `.well-known/smart-configuration`. Pure: no DOM, no Node.
 */

export interface PortalConfig {
  /** fhirgate's public FHIR base (`…/fhir`): the `iss` and `aud` of the SMART launch. */
  readonly fhirBaseUrl: string;
  /** The portal's client id in fhirgate's app registry (a public client: no secret). */
  readonly clientId: string;
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
  const fhirBaseUrl = text('fhirBaseUrl');
  if (!/^https?:\/\/[^/]/.test(fhirBaseUrl)) throw new TypeError(`portal config: "fhirBaseUrl" must be an http(s) URL, got ${JSON.stringify(fhirBaseUrl)}`);
  return { fhirBaseUrl: fhirBaseUrl.replace(/\/+$/, ''), clientId: text('clientId') };
}

/**
 * The config of a deployed stack, from `cdk deploy --outputs-file <file>`: outputs
 * `FhirBaseUrl` and `PortalClientId` of the named stack (or the only one).
 */
export function portalConfigFromCdkOutputs(outputs: unknown, stackName?: string): PortalConfig {
  if (typeof outputs !== 'object' || outputs === null) throw new TypeError('cdk outputs: expected a JSON object');
  const stacks = outputs as Record<string, Record<string, unknown>>;
  const names = stackName === undefined ? Object.keys(stacks) : [stackName];
  if (names.length !== 1 || stacks[names[0]!] === undefined) {
    throw new TypeError(`cdk outputs: name the stack (found ${Object.keys(stacks).join(', ') || 'none'})`);
  }
  const stack = stacks[names[0]!]!;
  return parsePortalConfig({ fhirBaseUrl: stack.FhirBaseUrl, clientId: stack.PortalClientId });
}
