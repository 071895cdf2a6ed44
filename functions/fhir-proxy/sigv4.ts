/**
 * AWS Signature Version 4 for the FHIR backend (AWS HealthLake answers only signed requests).
 *
 * The signer signs exactly the request the backend client is about to send: method, host (from
 * the URL, as fetch will send it), path, query, every header passed in (the client passes only its
 * allow-list) and the SHA-256 of the body. It returns the full header set to send, with
 * `authorization`, `x-amz-date`, `x-amz-content-sha256` and, for temporary credentials,
 * `x-amz-security-token` added; `host` is left out because fetch derives it from the URL.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4, type SignatureV4Init } from '@smithy/signature-v4';

/** Adds authentication headers to an outgoing backend request. */
export interface RequestSigner {
  /** Returns the headers to send: the given ones plus the authentication headers. */
  sign(req: { method: string; url: URL; headers: Record<string, string>; body?: string }): Promise<Record<string, string>>;
}

export interface SigV4SignerOptions {
  /** Region of the HealthLake datastore, e.g. `us-east-1`. */
  readonly region: string;
  /** @default 'healthlake' */
  readonly service?: string;
  /**
   * Static credentials or a provider of them.
   * @default the default provider chain (`defaultProvider()` of @aws-sdk/credential-provider-node,
   * which `fromNodeProviderChain()` of @aws-sdk/credential-providers wraps): the Lambda role's
   * environment credentials in AWS. Resolved on first use, then memoized by the provider until
   * shortly before the credentials expire.
   */
  readonly credentials?: SignatureV4Init['credentials'];
}

/** SigV4 signer for AWS HealthLake (service 'healthlake'), credentials from the default provider chain. */
export function createSigV4Signer(options: SigV4SignerOptions): RequestSigner {
  if (typeof options.region !== 'string' || !/^[a-z0-9-]+$/.test(options.region)) {
    throw new TypeError('createSigV4Signer: region must be an AWS region name');
  }
  const signer = new SignatureV4({
    service: options.service ?? 'healthlake',
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: Sha256,
    uriEscapePath: true, // every service but S3 (SigV4 "canonical URI")
    applyChecksum: true, // adds x-amz-content-sha256
  });

  return {
    async sign({ method, url, headers, body }) {
      const toSign: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        if (name.toLowerCase() !== 'host') toSign[name.toLowerCase()] = value;
      }
      // fetch sends `Host: <url.host>` (the port only when it is not the scheme's default).
      toSign.host = url.host;
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: queryBag(url.searchParams),
        headers: toSign,
        body,
      });
      const send: Record<string, string> = { ...signed.headers };
      delete send.host;
      return send;
    },
  };
}

/** The decoded query parameters, repeated names as arrays, in the shape SignatureV4 canonicalizes. */
function queryBag(params: URLSearchParams): Record<string, string | string[]> {
  const bag: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    const seen = Object.prototype.hasOwnProperty.call(bag, name) ? bag[name] : undefined;
    if (seen === undefined) bag[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else bag[name] = [seen, value];
  }
  return bag;
}
