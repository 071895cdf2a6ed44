/**
 * An export job after its kick-off: the opaque handle that binds it to the client that started
 * it, the manifest the client sees, and the filter every downloaded file passes through.
 *
 * Binding (no job table): the handle is the job's description plus a MAC over it *and the
 * caller* (kind, sub, client), made by the same signer as paging links (HMAC locally, KMS in
 * AWS). Another client — whatever its scopes — computes a different MAC input, so its request
 * fails exactly like a made-up or expired handle: one 404, byte for byte. The MAC makes handles
 * unguessable (256 bits); the description inside is not secret (backend job path, level, types).
 */
import type { ExportLevel } from './bulk-export';
import { exportsType } from './bulk-export';
import type { PageSigner } from './paging';
import type { Principal } from './principal';
import { AccessContext, checkResource, resourceTypeOf } from './resource-access';
import { isRecord } from './untrusted-json';

/** What a handle carries. */
export interface ExportJob {
  /** Status URL of the backend's job, relative to the backend base (`export/<id>`). */
  readonly backendPath: string;
  readonly level: ExportLevel;
  /** The types planned at kick-off; undefined: every type the scopes grant. */
  readonly types?: readonly string[];
  /** The kick-off request as the client sent it, relative to the public base (manifest `request`). */
  readonly request: string;
  /** Kick-off time, epoch seconds. */
  readonly issuedAt: number;
}

/** One file of a backend manifest (IG §Response - Complete Status, output[] and error[]). */
export interface ManifestFile {
  readonly type: string;
  readonly url: string;
}

export interface BackendManifest {
  readonly transactionTime: string;
  readonly output: readonly ManifestFile[];
  readonly error: readonly ManifestFile[];
}

const HANDLE = /^([A-Za-z0-9_-]{8,4096})\.([A-Za-z0-9_-]{16,128})$/;
const BACKEND_PATH = /^[A-Za-z0-9\-._$/]{1,512}(\?[A-Za-z0-9\-._~=&%]{0,512})?$/;

function macInput(principal: Principal, payload: string): string {
  return ['fhirgate-export-v1', principal.kind, principal.sub, principal.clientId, payload].join('\n');
}

/** The opaque handle for a job, bound to the caller. */
export async function sealJob(signer: PageSigner, principal: Principal, job: ExportJob): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ p: job.backendPath, l: job.level, t: job.types ?? null, r: job.request, i: job.issuedAt })).toString('base64url');
  return `${payload}.${await signer.sign(macInput(principal, payload))}`;
}

/**
 * The job a handle names, or undefined when the handle is malformed, was issued to another
 * caller, or is older than `maxAgeSeconds` — one answer for all three (no existence oracle).
 */
export async function openJob(signer: PageSigner, principal: Principal, handle: string, nowSeconds: number, maxAgeSeconds: number): Promise<ExportJob | undefined> {
  const match = HANDLE.exec(handle);
  if (!match) return undefined;
  const [, payload, mac] = match as unknown as [string, string, string];
  if (!(await signer.verify(macInput(principal, payload), mac))) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(raw) || typeof raw.p !== 'string' || !BACKEND_PATH.test(raw.p) || typeof raw.r !== 'string' || typeof raw.i !== 'number') return undefined;
  if (raw.l !== 'system' && raw.l !== 'patient' && raw.l !== 'group') return undefined;
  if (raw.t !== null && !(Array.isArray(raw.t) && raw.t.every((t) => typeof t === 'string'))) return undefined;
  if (nowSeconds - raw.i > maxAgeSeconds || raw.i > nowSeconds + 60) return undefined;
  return { backendPath: raw.p, level: raw.l, ...(raw.t ? { types: raw.t as string[] } : {}), request: raw.r, issuedAt: raw.i };
}

/** True for a backend status path fhirgate will call (relative, no scheme, no dot segments). */
export function isBackendJobPath(path: string): boolean {
  const segments = (path.split('?')[0] ?? '').split('/');
  return BACKEND_PATH.test(path) && !segments.some((s) => s === '' || s === '.' || s === '..');
}

/** A backend's complete-status body, checked; undefined when it is not an IG manifest. */
export function parseBackendManifest(body: unknown): BackendManifest | undefined {
  if (!isRecord(body) || typeof body.transactionTime !== 'string') return undefined;
  const files = (list: unknown): ManifestFile[] | undefined => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) return undefined;
    const out: ManifestFile[] = [];
    for (const f of list) {
      if (!isRecord(f) || typeof f.type !== 'string' || typeof f.url !== 'string') return undefined;
      out.push({ type: f.type, url: f.url });
    }
    return out;
  };
  const output = files(body.output);
  const error = files(body.error);
  if (!output || !error) return undefined;
  return { transactionTime: body.transactionTime, output, error };
}

/** Which list a file reference points into: `o3` is output[3], `e0` is error[0]. */
export type FileRef = { readonly list: 'output' | 'error'; readonly index: number };

export function formatFileRef(ref: FileRef): string {
  return `${ref.list === 'output' ? 'o' : 'e'}${ref.index}`;
}

export function parseFileRef(text: string): FileRef | undefined {
  const m = /^([oe])(\d{1,5})$/.exec(text);
  return m ? { list: m[1] === 'o' ? 'output' : 'error', index: Number(m[2]) } : undefined;
}

/**
 * True when the caller may have this file now: error files (OperationOutcomes) always; output
 * files when their type was planned at kick-off *and* the caller's current scopes still grant it.
 */
export function mayDownload(principal: Principal, job: ExportJob, file: ManifestFile, list: FileRef['list']): boolean {
  if (list === 'error') return true;
  if (job.types !== undefined && !job.types.includes(file.type)) return false;
  return exportsType(principal, file.type);
}

/**
 * The manifest the client sees (IG §Complete Status): the backend's transaction time, the
 * client's own request, and one entry per file it may download, each pointing at fhirgate.
 * Files of any other type are not listed. `requiresAccessToken`: files are only served through
 * the API, to the same bearer-token checks as every FHIR call.
 */
export function clientManifest(
  manifest: BackendManifest,
  job: ExportJob,
  principal: Principal,
  urls: { readonly request: string; file(ref: FileRef): string },
): Record<string, unknown> {
  const listed = (list: FileRef['list']) =>
    manifest[list].flatMap((file, index) => (mayDownload(principal, job, file, list) ? [{ type: file.type, url: urls.file({ list, index }) }] : []));
  return {
    transactionTime: manifest.transactionTime,
    request: urls.request,
    requiresAccessToken: true,
    output: listed('output'),
    error: listed('error'),
  };
}

/**
 * Filter an NDJSON file line by line: a line stays only when it is a resource of the file's type
 * and passes the same `checkResource` as every read (scope constraints included). Anything else —
 * another type, unparsable text, a resource the scopes' constraints exclude — is dropped.
 */
export function filterNdjson(ctx: AccessContext, text: string, type: string): { text: string; kept: number; removed: number } {
  const out: string[] = [];
  let removed = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let resource: unknown;
    try {
      resource = JSON.parse(line);
    } catch {
      removed++;
      continue;
    }
    const ok = resourceTypeOf(resource) === type && (type === 'OperationOutcome' || checkResource(ctx, resource, 'r').ok);
    if (ok) out.push(JSON.stringify(resource));
    else removed++;
  }
  return { text: out.length > 0 ? `${out.join('\n')}\n` : '', kept: out.length, removed };
}
