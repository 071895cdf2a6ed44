/**
 * A throwaway self-signed certificate for 127.0.0.1, made with the system's openssl, so a test
 * can serve HTTPS on loopback and a client can trust exactly that certificate (the production
 * JWKS fetcher speaks HTTPS only). Test-only key material, generated per run, never committed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** The certificate as a file (for NODE_EXTRA_CA_CERTS in a child process). */
  readonly certFile: string;
}

/** Generate a P-256 certificate valid for IP 127.0.0.1 and `localhost`, one day. */
export function selfSignedCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'fhirgate-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile };
}
