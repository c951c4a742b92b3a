/**
 * Access tokens the gateway mints for an Api: RFC 9068 JWTs (`typ: at+jwt`), signed with the
 * Api's algorithm by the environment's active key of that algorithm.
 *
 * `verifyAccessToken` checks the token itself (signature, algorithm, `typ`, issuer, audience,
 * lifetime, claim shapes). It does NOT check that the client still exists, is not suspended or
 * is still granted this Api: bearer.ts does, with the snapshot, on every request.
 *
 * A client reuses its token for its whole life (an hour by default), and checking the signature
 * is most of the cost of a request that carries one (~30% of its CPU with ES256). Verified
 * tokens are therefore remembered (`VerifiedTokenCache`, keyed by the exact token string), and a
 * token found there is accepted only when everything the verifier checked would still pass now:
 * the algorithm, issuer and audience of the Api at hand, the lifetime against the current time,
 * and the very key object that verified it still being trusted (so a key removed from the set,
 * replaced, or past its `retireAfter` invalidates at once).
 */

import { randomUUID } from 'node:crypto';
import { type CompactJWSHeaderParameters, type CryptoKey, jwtVerify } from 'jose';
import { GatewayError } from '../errors.ts';
import type { SnapshotApi, SnapshotCredential } from '../snapshot/schema.ts';
import { describeJwtFailure, invalidToken } from './jwt-failures.ts';
import type { LoadedKeys } from './keys.ts';
import type { SigningAlgorithm } from './signing-keys.ts';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Seconds of clock skew accepted between replicas and clients: small and bounded. */
export const CLOCK_TOLERANCE_SECONDS = 5;

const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'client_id', 'iat', 'exp', 'jti'];

/** The claims of a verified (or freshly minted) access token, as they are in the JWT. */
export interface AccessTokenClaims {
  iss: string;
  /** Always a single string in tokens this gateway mints. */
  aud: string | string[];
  sub: string;
  client_id: string;
  /** Space-separated; empty when nothing was granted. */
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface MintAccessTokenInput {
  api: SnapshotApi;
  credential: SnapshotCredential;
  /** Already `requested ∩ granted ∩ declared`; anything the Api does not declare is dropped again here. */
  scopes: readonly string[];
  issuer: string;
  audience: string;
  keys: LoadedKeys;
  now: Date;
  /** Default: the client_id (client credentials). The authorization code flow passes the user. */
  subject?: string;
}

export interface MintedAccessToken {
  token: string;
  expiresIn: number;
  claims: AccessTokenClaims;
}

/**
 * Signs a new access token. Throws `service_unavailable` when the environment has no active
 * key for the Api's algorithm (keys not provisioned yet).
 */
export async function mintAccessToken(input: MintAccessTokenInput): Promise<MintedAccessToken> {
  const { api, credential, issuer, audience, keys, now } = input;
  const alg = api.tokens.signingAlgorithm;
  const signer = keys.signingKey(alg);
  if (!signer) {
    throw new GatewayError('service_unavailable', 'No signing key is available for this API yet.');
  }
  // The one place every token is made: the rule "no token carries an undeclared scope" holds here.
  const declared = new Set(api.declaredScopes);
  const scope = [...new Set(input.scopes)].filter((s) => declared.has(s)).join(' ');
  const iat = Math.floor(now.getTime() / 1000);
  const expiresIn = api.tokens.ttlSeconds;
  const claims: AccessTokenClaims = {
    iss: issuer,
    aud: audience,
    sub: input.subject ?? credential.clientId,
    client_id: credential.clientId,
    scope,
    iat,
    exp: iat + expiresIn,
    jti: randomUUID(),
  };
  // The key's own signer (keys.ts, built once per key): the payload is these claims' JSON as
  // they are (RFC 7519 §7.1), the header `{ alg, typ, kid }`.
  const token = await signer.signJwt(claims, ACCESS_TOKEN_TYPE);
  return { token, expiresIn, claims };
}

export interface VerifyAccessTokenContext {
  api: SnapshotApi;
  issuer: string;
  audience: string;
  keys: LoadedKeys;
  now: Date;
  /** Where verified tokens are remembered; absent: every call verifies the signature. */
  cache?: VerifiedTokenCache;
}

/** A token that passed `verifyAccessToken`, and what it was checked with. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  /** `nbf`, when the token has one (tokens this gateway mints do not). */
  notBefore?: number;
  alg: SigningAlgorithm;
  kid: string;
  /** The key object that verified the signature: only that very object vouches for it later. */
  key: CryptoKey;
}

/**
 * A bounded map of verified tokens, least recently used evicted first, and the verifications in
 * flight (a token first seen by several concurrent requests is verified once: the others wait
 * for that verification, then read the map). Holds no decision of its own:
 * `verifyAccessToken` re-checks every entry it reads against the request's context.
 */
export interface VerifiedTokenCache {
  get(token: string): VerifiedToken | undefined;
  set(token: string, verified: VerifiedToken): void;
  delete(token: string): void;
  readonly size: number;
  /** Settles when the verification of `token` in flight ends (either way); undefined if none is. */
  inFlight(token: string): Promise<void> | undefined;
  /** Records a verification of `token` in flight until it settles. */
  track(token: string, verification: Promise<unknown>): void;
}

/** Default bound: ~1 KiB each (the token string and its claims), so ~10 MiB at most. */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

export function createVerifiedTokenCache(
  maxEntries = VERIFIED_TOKEN_CACHE_SIZE,
): VerifiedTokenCache {
  // A Map iterates in insertion order: re-inserting on every hit keeps the oldest first.
  const entries = new Map<string, VerifiedToken>();
  const pending = new Map<string, Promise<void>>();
  return {
    get(token) {
      const found = entries.get(token);
      if (found) {
        entries.delete(token);
        entries.set(token, found);
      }
      return found;
    },
    set(token, verified) {
      if (maxEntries <= 0) return;
      entries.delete(token);
      entries.set(token, verified);
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    delete(token) {
      entries.delete(token);
    },
    get size() {
      return entries.size;
    },
    inFlight(token) {
      return pending.get(token);
    },
    track(token, verification) {
      const settled = verification.then(
        () => undefined,
        () => undefined,
      );
      pending.set(token, settled);
      void settled.then(() => {
        if (pending.get(token) === settled) pending.delete(token);
      });
    },
  };
}

/**
 * The claims of `token` if `ctx.cache` holds it and every check `verifyAccessToken` made still
 * holds at `ctx.now` for `ctx.api`; otherwise undefined (the caller verifies it in full). An entry
 * that no longer holds is dropped. Decodes nothing.
 */
export function cachedAccessToken(
  token: string,
  ctx: VerifyAccessTokenContext,
): AccessTokenClaims | undefined {
  const cached = ctx.cache?.get(token);
  if (!cached) return undefined;
  if (stillValid(cached, ctx)) return cached.claims;
  ctx.cache?.delete(token);
  return undefined;
}

/** The checks of `verifyAccessToken` that depend on the time, the Api or the keys, replayed. */
function stillValid(cached: VerifiedToken, ctx: VerifyAccessTokenContext): boolean {
  const { claims } = cached;
  if (cached.alg !== ctx.api.tokens.signingAlgorithm) return false;
  // The same key object: a reloaded key set imports its keys anew, so nothing verified with a
  // previous set is taken on trust, even under the same kid.
  const key = ctx.keys.verificationKey(cached.kid, ctx.now);
  if (!key || key.key !== cached.key || key.alg !== cached.alg) return false;
  if (claims.iss !== ctx.issuer) return false;
  if (
    typeof claims.aud === 'string'
      ? claims.aud !== ctx.audience
      : !claims.aud.includes(ctx.audience)
  )
    return false;
  // As jose and `verifyAccessToken` compare: whole seconds, with the same tolerance.
  const now = Math.floor(ctx.now.getTime() / 1000);
  if (claims.exp <= now - CLOCK_TOLERANCE_SECONDS) return false;
  if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) return false;
  if (cached.notBefore !== undefined && cached.notBefore > now + CLOCK_TOLERANCE_SECONDS)
    return false;
  return true;
}

/**
 * Verifies a token this gateway minted for `api`: the algorithm is pinned to the Api's (so
 * `alg: none`, HS256 keyed with a public key, or the other algorithm are refused before any key
 * is touched), the key is found by `kid` among the trusted keys only, `typ` must be `at+jwt`,
 * `iss` and `aud` must be this Api's, and the lifetime holds within a few seconds of skew.
 * Every failure is `invalid_token` with a fixed description that never quotes the token.
 */
export async function verifyAccessToken(
  token: string,
  ctx: VerifyAccessTokenContext,
): Promise<AccessTokenClaims> {
  const cached = cachedAccessToken(token, ctx);
  if (cached) return cached;
  const { cache } = ctx;
  if (!cache) return verifySignedToken(token, ctx);
  // Another request is verifying this very token: its result lands in the cache, where this
  // request reads it against its own context (a failure there is not shared: verified anew).
  const inFlight = cache.inFlight(token);
  if (inFlight) {
    await inFlight;
    const verified = cachedAccessToken(token, ctx);
    if (verified) return verified;
  }
  const verification = verifySignedToken(token, ctx);
  cache.track(token, verification);
  return verification;
}

/** The full verification (signature included); remembers the token in `ctx.cache` if it passes. */
async function verifySignedToken(
  token: string,
  ctx: VerifyAccessTokenContext,
): Promise<AccessTokenClaims> {
  const alg = ctx.api.tokens.signingAlgorithm;
  let used: { kid: string; key: CryptoKey } | undefined;
  const resolveKey = (header: CompactJWSHeaderParameters): CryptoKey => {
    if (typeof header.kid !== 'string')
      throw invalidToken('The access token names no signing key.');
    const found = ctx.keys.verificationKey(header.kid, ctx.now);
    if (!found) throw invalidToken('The access token was signed by an unknown key.');
    if (found.alg !== header.alg)
      throw invalidToken('The access token was signed with the wrong algorithm.');
    used = { kid: header.kid, key: found.key };
    return found.key;
  };

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, resolveKey, {
      algorithms: [alg],
      typ: ACCESS_TOKEN_TYPE,
      issuer: ctx.issuer,
      audience: ctx.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: ctx.now,
      requiredClaims: REQUIRED_CLAIMS,
    }));
  } catch (error) {
    throw describeFailure(error);
  }

  const { iss, aud, sub, client_id, scope, iat, exp, jti, nbf } = payload;
  if (
    typeof iss !== 'string' ||
    (typeof aud !== 'string' && !Array.isArray(aud)) ||
    typeof sub !== 'string' ||
    typeof client_id !== 'string' ||
    client_id === '' ||
    (scope !== undefined && typeof scope !== 'string') ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    typeof jti !== 'string'
  ) {
    throw invalidToken('The access token has malformed claims.');
  }
  // jose checks `iat` against the clock only with maxTokenAge; a token from the future is not valid yet.
  if (iat > Math.floor(ctx.now.getTime() / 1000) + CLOCK_TOLERANCE_SECONDS) {
    throw invalidToken('The access token is not valid yet.');
  }
  const claims: AccessTokenClaims = {
    iss,
    aud: aud as string | string[],
    sub,
    client_id,
    scope: scope ?? '',
    iat,
    exp,
    jti,
  };
  if (ctx.cache && used) {
    const verified: VerifiedToken = { claims, alg, kid: used.kid, key: used.key };
    // jose refused a non-numeric `nbf`; a number is replayed on every later use.
    if (typeof nbf === 'number') verified.notBefore = nbf;
    ctx.cache.set(token, verified);
  }
  return claims;
}

/** The scopes of a scope claim (space-separated), without empties or duplicates. */
export function scopesOfClaim(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

function describeFailure(error: unknown): GatewayError {
  return (
    describeJwtFailure(
      error,
      "The access token was not issued by this API's authorization server.",
    ) ?? invalidToken('The access token is malformed.')
  );
}
