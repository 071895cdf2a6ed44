/**
 * Sections 1 and 5: the authorizer's hot path against the physical floor and a common baseline,
 * measured in one process, in one run, on one token.
 *
 * - decision: the real `createAuthorizerHandler` over the real `createTokenVerifier` (JWKS already
 *   fetched over loopback HTTP by a warm-up call), a warm `CachedLinkStore`, and the policy build.
 *   The link cache's inner store is an in-memory fake at the `LinkStore` adapter boundary; the
 *   run asserts it was called exactly once (the warm-up), so the measured loop never reached it.
 * - floor: `crypto.verify('RSA-SHA256', signingInput, publicKey, signature)` on the same token
 *   bytes with the same public KeyObject: the RS256 work no verifier can avoid.
 * - baseline: the common naive recipe, `jwks-rsa` (cached `getSigningKey`) → PEM →
 *   `jsonwebtoken.verify(token, pem, { algorithms: ['RS256'], issuer })`. It checks less than
 *   fhirgate (no `token_use`, no client allow-list, no principal, no policy).
 *
 * The three are interleaved in rounds of `batch` iterations, their order rotating every round,
 * so drift (thermal, frequency scaling, GC pressure building up) lands on all three alike.
 */
import { verify as cryptoVerify } from 'node:crypto';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import jwt from 'jsonwebtoken';
import jwksClient from 'jwks-rsa';
import { createAuthorizerHandler } from '../functions/authorizer/handler';
import { CachedLinkStore, LinkStore } from '../functions/adapters/link-store';
import { LoopbackAwareFetcher } from '../functions/adapters/jwks-fetcher';
import { createTokenVerifier } from '../functions/adapters/verifier';
import type { LinkRecord } from '../functions/core/principal';
import { DEFAULT_SETTINGS } from '../functions/core/settings';
import { startTestIssuer, TestIssuer } from '../test/support/jwt-issuer';
import { profile } from './profiler';
import { microsBetween, roundSummary, Samples, Summary, summarize } from './stats';

export const WEB_CLIENT = 'web';
export const API_SERVER = 'api-server';
export const ALICE: LinkRecord = { sub: '3f1c2a9e-8d4b-4c3e-9a51-6b2f0e7d4a10', role: 'patient', fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] };
export const METHOD_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcde12345/prod/GET/fhir/Observation';

export interface HotPathOptions {
  /** Measured iterations per kind, after warm-up. */
  readonly iterations: number;
  readonly warmup: number;
  /** Iterations per kind per round before switching to the next kind. */
  readonly batch: number;
  /** When set, an extra pass of decisions runs under the CPU profiler and is written here. */
  readonly profileFile?: string;
}

export interface HotPathResult {
  readonly unit: 'µs';
  readonly iterations: number;
  readonly warmup: number;
  readonly batch: number;
  readonly token: { readonly alg: 'RS256'; readonly modulusBits: 2048; readonly bytes: number };
  readonly linkStore: string;
  /** Calls that reached the inner (uncached) link store: only the warm-up. */
  readonly innerLinkStoreCalls: number;
  readonly decision: Summary;
  readonly rawVerify: Summary;
  /** median(decision) / median(rawVerify). */
  readonly ratioDecisionToVerify: number;
  readonly ratioDecisionToVerifyP99: number;
}

export interface BaselineResult {
  readonly unit: 'µs';
  readonly recipe: string;
  readonly verify: Summary;
  /** median(baseline verify) / median(fhirgate decision): > 1 means fhirgate's whole decision is faster. */
  readonly ratioBaselineToDecision: number;
  /** median(baseline verify) / median(raw crypto.verify). */
  readonly ratioBaselineToVerify: number;
}

/** A Cognito-shaped access token for Alice (as InitiateAuth issues one), RS256 with a 2048-bit key. */
export function aliceToken(issuer: TestIssuer): string {
  const now = Math.floor(Date.now() / 1000);
  return issuer.token({
    sub: ALICE.sub,
    'cognito:groups': ['patient'],
    client_id: WEB_CLIENT,
    origin_jti: '6a1e7c52-0f0e-4bde-9c8a-2b0d5a4f7e31',
    event_id: '0d7c9e3a-4f2b-4a6e-8b1d-9e5c3a7f2b64',
    scope: 'aws.cognito.signin.user.admin',
    auth_time: now,
    username: 'alice',
  });
}

/** Everything the three measurements share: one token, one issuer, the handler, the floor, the baseline. */
export interface HotPathFixture {
  /** The real authorizer; resolves to an Allow for `event`. */
  readonly authorize: ReturnType<typeof createAuthorizerHandler>;
  readonly event: APIGatewayTokenAuthorizerEvent;
  readonly tokenBytes: number;
  /** The floor: node:crypto RS256 verify of the token's signing input with its public KeyObject. */
  floor(): boolean;
  /** The naive recipe, start to finish, for the same token. */
  baseline(): Promise<void>;
  /** Calls that reached the inner link store (the cache's misses). */
  innerLinkStoreCalls(): number;
  jwksFetches(): number;
  close(): Promise<void>;
}

/** Build and warm the fixture: the JWKS fetched once by each verifier, the link cache filled. */
export async function hotPathFixture(): Promise<HotPathFixture> {
  const issuer = await startTestIssuer();
  try {
    const token = aliceToken(issuer);
    const key = issuer.keys[0]!;
    const jwksFetches = (): number => issuer.fetches;

    let innerCalls = 0;
    const inner: LinkStore = {
      async get(sub) {
        innerCalls += 1;
        return sub === ALICE.sub ? ALICE : undefined;
      },
    };
    const authorize = createAuthorizerHandler({
      verifier: createTokenVerifier({
        issuers: [{ kind: 'cognito-compatible', issuer: issuer.issuer, jwksUri: issuer.jwksUri }],
        clientIds: [WEB_CLIENT, API_SERVER],
        fetcher: new LoopbackAwareFetcher(), // the bench issuer serves its JWKS over HTTP on loopback
      }),
      links: new CachedLinkStore(inner, 3_600_000),
      clients: { userClientIds: [WEB_CLIENT], machineClientIds: [API_SERVER] },
      settings: DEFAULT_SETTINGS,
      log: () => undefined, // only refusals log; none are expected
    });
    const event: APIGatewayTokenAuthorizerEvent = { type: 'TOKEN', authorizationToken: `Bearer ${token}`, methodArn: METHOD_ARN };

    // Warm-up call: fetches the JWKS over HTTP and fills the link cache.
    const first = await authorize(event);
    if (first.policyDocument.Statement[0]?.Effect !== 'Allow') throw new Error('hot path: the benchmark token was not allowed');
    if (jwksFetches() !== 1 || innerCalls !== 1) throw new Error('hot path: warm-up did not fetch the JWKS and the link exactly once');

    const dot = token.lastIndexOf('.');
    const signingInput = Buffer.from(token.slice(0, dot));
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const publicKey = key.publicKey;
    const floor = () => cryptoVerify('RSA-SHA256', signingInput, publicKey, signature);
    if (!floor()) throw new Error('floor: signature does not verify');

    const jwks = jwksClient({ jwksUri: issuer.jwksUri, cache: true, rateLimit: false });
    const baseline = async (): Promise<void> => {
      const decoded = jwt.decode(token, { complete: true });
      const signingKey = await jwks.getSigningKey(decoded?.header.kid);
      jwt.verify(token, signingKey.getPublicKey(), { algorithms: ['RS256'], issuer: issuer.issuer });
    };
    await baseline(); // fills jwks-rsa's cache
    if (jwksFetches() !== 2) throw new Error('baseline: jwks-rsa did not fetch the JWKS exactly once');

    return { authorize, event, tokenBytes: token.length, floor, baseline, innerLinkStoreCalls: () => innerCalls, jwksFetches, close: () => issuer.close() };
  } catch (err) {
    await issuer.close();
    throw err;
  }
}

export async function benchAuthorizerHotPath(options: HotPathOptions): Promise<{ hot: HotPathResult; baseline: BaselineResult }> {
  const f = await hotPathFixture();
  try {
    const { authorize, event } = f;
    const kinds = [
      {
        name: 'decision',
        samples: new Samples(options.iterations),
        async run(n: number, s: Samples | undefined) {
          for (let i = 0; i < n; i++) {
            const t0 = process.hrtime.bigint();
            await authorize(event);
            const t1 = process.hrtime.bigint();
            s?.push(microsBetween(t0, t1));
          }
        },
      },
      {
        name: 'rawVerify',
        samples: new Samples(options.iterations),
        async run(n: number, s: Samples | undefined) {
          const floor = f.floor;
          for (let i = 0; i < n; i++) {
            const t0 = process.hrtime.bigint();
            floor();
            const t1 = process.hrtime.bigint();
            s?.push(microsBetween(t0, t1));
          }
        },
      },
      {
        name: 'baseline',
        samples: new Samples(options.iterations),
        async run(n: number, s: Samples | undefined) {
          const baseline = f.baseline;
          for (let i = 0; i < n; i++) {
            const t0 = process.hrtime.bigint();
            await baseline();
            const t1 = process.hrtime.bigint();
            s?.push(microsBetween(t0, t1));
          }
        },
      },
    ];

    for (const kind of kinds) await kind.run(options.warmup, undefined);
    const rounds = Math.ceil(options.iterations / options.batch);
    for (let round = 0; round < rounds; round++) {
      const n = Math.min(options.batch, options.iterations - round * options.batch);
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(round + k) % kinds.length]!;
        await kind.run(n, kind.samples);
      }
    }
    if (f.innerLinkStoreCalls() !== 1) throw new Error(`hot path: the inner link store was reached ${f.innerLinkStoreCalls() - 1} times while measuring`);
    if (f.jwksFetches() !== 2) throw new Error('hot path: a JWKS was fetched again while measuring');

    if (options.profileFile) {
      // A separate pass under the sampling profiler: decisions only, never mixed into the timings.
      await profile(options.profileFile, async () => {
        for (let i = 0; i < options.iterations; i++) await authorize(event);
      });
    }

    const [decision, rawVerify, baseline] = kinds.map((k) => summarize(k.samples.values())) as [Summary, Summary, Summary];
    return {
      hot: {
        unit: 'µs',
        iterations: options.iterations,
        warmup: options.warmup,
        batch: options.batch,
        token: { alg: 'RS256', modulusBits: 2048, bytes: f.tokenBytes },
        linkStore: 'CachedLinkStore (TTL 1 h) over an in-memory fake LinkStore at the adapter boundary; warm (filled by the warm-up call)',
        innerLinkStoreCalls: f.innerLinkStoreCalls(),
        decision: roundSummary(decision),
        rawVerify: roundSummary(rawVerify),
        ratioDecisionToVerify: decision.median / rawVerify.median,
        ratioDecisionToVerifyP99: decision.p99 / rawVerify.p99,
      },
      baseline: {
        unit: 'µs',
        recipe: "jwks-rsa getSigningKey (cached) → getPublicKey() PEM → jsonwebtoken.verify(token, pem, { algorithms: ['RS256'], issuer })",
        verify: roundSummary(baseline),
        ratioBaselineToDecision: baseline.median / decision.median,
        ratioBaselineToVerify: baseline.median / rawVerify.median,
      },
    };
  } finally {
    await f.close();
  }
}
