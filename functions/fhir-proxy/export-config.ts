/**
 * The backend side of `$export`: how a job is started on AWS HealthLake, and where the proxy
 * reads the files a backend manifest names.
 *
 * HealthLake (https://docs.aws.amazon.com/healthlake/latest/devguide/reference-fhir-operations-export.html):
 * `POST [datastore]/r4/[Patient|Group/id/]$export` with `Prefer: respond-async` and a JSON body
 * naming the job, the S3 location and KMS key it writes NDJSON to (one object per type) and the
 * data-access role it assumes to write there (the caller needs `iam:PassRole` on that role, and
 * `healthlake:StartFHIRExportJobWithPost` / `DescribeFHIRExportJobWithGet` /
 * `CancelFHIRExportJobWithDelete` on the datastore — see lib/export-bucket.ts). Any other FHIR
 * server gets the IG's plain `GET …/$export`.
 *
 * Files: those under the backend's base are read through the backend client (the local store,
 * IG servers that serve their own files); `s3://bucket/key` files through an S3 reader bound to
 * the export bucket and prefix — any other location is refused.
 */
import { DependencyError } from '../core/errors';
import { Env, integerEnv, requiredEnv } from '../adapters/env';
import type { FhirBackend } from './backend';

export interface HealthLakeExportTarget {
  /** `s3://bucket/prefix/` the datastore writes to (the export bucket). */
  readonly s3Uri: string;
  /** KMS key the files are encrypted with (the stack's key). */
  readonly kmsKeyId: string;
  /** Role HealthLake assumes to write the files; the proxy passes it (iam:PassRole). */
  readonly dataAccessRoleArn: string;
}

/** Reads one output file; undefined when it does not exist (→ 404). */
export interface ExportFileReader {
  read(url: string): Promise<string | undefined>;
}

export interface ExportConfig {
  /** How long a job's status and files stay reachable. @default 86400 (the export bucket's lifecycle default) */
  readonly maxAgeSeconds?: number;
  /** Set for AWS HealthLake; absent: the IG's GET kick-off. */
  readonly healthLake?: HealthLakeExportTarget;
  /** Reader for `s3://` files (AWS). Absent: only files under the backend base can be read. */
  readonly s3?: FhirBackend & { readonly bucket: string; readonly prefix: string };
  /** Largest export file streamed in one response; larger ones are refused (413). @default DEFAULT_MAX_FILE_BYTES of export.ts (4 MiB) */
  readonly maxFileBytes?: number;
  /** Clock (ms) for handle ages; tests inject one. @default Date.now */
  readonly now?: () => number;
}

/** The HealthLake `$export` request body (field names as in StartFHIRExportJob). */
export function healthLakeKickoffBody(target: HealthLakeExportTarget, clientId: string): Record<string, unknown> {
  // JobName: 1–64 of [\p{L}\p{Z}\p{N}_.:/=+\-%@] (API_StartFHIRExportJob); client ids fit.
  const jobName = `fhirgate-${clientId}`.replace(/[^A-Za-z0-9_.:/=+\-%@]/g, '-').slice(0, 64);
  return {
    JobName: jobName,
    OutputDataConfig: { S3Configuration: { S3Uri: target.s3Uri, KmsKeyId: target.kmsKeyId } },
    DataAccessRoleArn: target.dataAccessRoleArn,
  };
}

/** The reader for a manifest's file URLs, given the configuration. */
export function exportFileReader(config: ExportConfig | undefined, backend: FhirBackend): ExportFileReader {
  return {
    async read(url) {
      const s3 = config?.s3;
      // `s3://bucket/key`, or the bucket's own https endpoint: either way only the export
      // bucket, only under the export prefix, only plain keys.
      const key = s3 && (url.startsWith(`s3://${s3.bucket}/`) ? url.slice(`s3://${s3.bucket}/`.length) : url.startsWith(`${s3.baseUrl}/`) ? url.slice(s3.baseUrl.length + 1) : undefined);
      if (s3 && key !== undefined) {
        if (!key.startsWith(s3.prefix) || !/^[A-Za-z0-9\-._/]+$/.test(key) || key.split('/').some((s) => s === '' || s === '..' || s === '.')) return undefined;
        return bodyOf(await s3.send({ method: 'GET', path: key }));
      }
      if (url.startsWith('s3://')) return undefined;
      if (!url.startsWith(`${backend.baseUrl}/`)) return undefined;
      const path = url.slice(backend.baseUrl.length + 1);
      if (!/^[A-Za-z0-9\-._$/]+$/.test(path) || path.split('/').includes('..')) return undefined;
      return bodyOf(await backend.send({ method: 'GET', path }));
    },
  };
}

/** 200: the text; 404: no such file; anything else fails closed as a dependency error (502). */
function bodyOf(response: { status: number; body: string }): string | undefined {
  if (response.status === 200) return response.body;
  if (response.status === 404) return undefined;
  throw new DependencyError('ERR_DEPENDENCY_FAILED', `export file store failed (status ${response.status})`);
}

/** The proxy's export environment, set by lib/export-bucket.ts (all four S3 names, or none). */
export const EXPORT_ENV = {
  bucket: 'FHIRGATE_EXPORT_BUCKET',
  prefix: 'FHIRGATE_EXPORT_PREFIX',
  kmsKeyArn: 'FHIRGATE_EXPORT_KMS_KEY_ARN',
  roleArn: 'FHIRGATE_EXPORT_ROLE_ARN',
  /** Seconds a job stays reachable: the bucket's lifecycle expiry. */
  maxAgeSeconds: 'FHIRGATE_EXPORT_MAX_AGE_SECONDS',
} as const;

/** Export settings from the environment; `s3` builds the bucket reader (a SigV4 client in AWS). */
export function exportConfigFromEnv(env: Env, s3: (bucket: string) => FhirBackend): ExportConfig {
  const maxAgeSeconds = integerEnv(env, EXPORT_ENV.maxAgeSeconds, { min: 60, max: 365 * 86_400, fallback: 86_400 });
  const bucket = env[EXPORT_ENV.bucket];
  if (!bucket) return { maxAgeSeconds };
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new TypeError(`${EXPORT_ENV.bucket} is not an S3 bucket name`);
  const prefix = requiredEnv(env, EXPORT_ENV.prefix);
  if (!/^[A-Za-z0-9\-._/]*\/$/.test(prefix)) throw new TypeError(`${EXPORT_ENV.prefix} must be a plain key prefix ending in '/'`);
  return {
    maxAgeSeconds,
    healthLake: { s3Uri: `s3://${bucket}/${prefix}`, kmsKeyId: requiredEnv(env, EXPORT_ENV.kmsKeyArn), dataAccessRoleArn: requiredEnv(env, EXPORT_ENV.roleArn) },
    s3: Object.assign(s3(bucket), { bucket, prefix }),
  };
}
