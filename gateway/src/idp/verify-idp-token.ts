/**
 * Verifying an access token of an external IdP (an IdpAssociation): the signature with one of
 * the IdP's keys (found by `kid`), an asymmetric algorithm from a fixed allow-list, `iss`
 * exactly the configured issuer, `aud` holding at least one configured audience, `exp` (and
 * `nbf` / `iat` when present) within a few seconds of skew, and the scopes from the IdP's
 * scope claim: a space-separated string, or an array of strings (`scp` of Azure AD / B2C).
 *
 * It does NOT check `typ` (IdPs write `JWT`, `at+jwt` or nothing), nor that the token is an
 * access token rather than an ID token: the audience does that, so an IdpAssociation must not
 * list its login client's id among its audiences. Nor does it check which Apis accept the IdP:
 * bearer.ts does, from the snapshot.
 */

import { errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { GatewayError } from '../errors.ts';
import { CLOCK_TOLERANCE_SECONDS } from '../oauth/access-token.ts';
import { describeJwtFailure, invalidToken } from '../oauth/jwt-failures.ts';
import type { SnapshotIdp } from '../snapshot/schema.ts';

/**
 * Asymmetric signatures only: an HMAC algorithm would let anyone holding a "key" the IdP
 * publishes (its public key) sign tokens, and `none` signs nothing. jose refuses any other `alg`
 * before it looks for a key, so such a token never causes a JWKS fetch.
 */
export const IDP_TOKEN_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** What the gateway takes from a verified IdP token. */
export interface IdpTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  /** From the IdP's scope claim, without empties or duplicates, as the IdP wrote them. */
  scopes: string[];
  /** `client_id` (RFC 9068), else `azp` (OpenID Connect), when the token names its client. */
  clientId?: string;
  iat?: number;
  jti?: string;
}

export interface VerifyIdpTokenContext {
  idp: SnapshotIdp;
  keys: JWTVerifyGetKey;
  now: Date;
}

export async function verifyIdpToken(
  token: string,
  ctx: VerifyIdpTokenContext,
): Promise<IdpTokenClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, ctx.keys, {
      algorithms: [...IDP_TOKEN_ALGORITHMS],
      issuer: ctx.idp.issuer,
      audience: ctx.idp.audiences,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: ctx.now,
      requiredClaims: ['iss', 'sub', 'aud', 'exp'],
    }));
  } catch (error) {
    throw describeFailure(error);
  }
  const { iss, sub, aud, exp, iat, jti } = payload;
  if (
    typeof iss !== 'string' ||
    typeof sub !== 'string' ||
    sub === '' ||
    typeof exp !== 'number' ||
    (iat !== undefined && typeof iat !== 'number')
  ) {
    throw invalidToken('The access token has malformed claims.');
  }
  if (
    typeof iat === 'number' &&
    iat > Math.floor(ctx.now.getTime() / 1000) + CLOCK_TOLERANCE_SECONDS
  ) {
    throw invalidToken('The access token is not valid yet.');
  }
  const claims: IdpTokenClaims = {
    iss,
    sub,
    aud: typeof aud === 'string' ? [aud] : (aud as string[]),
    exp,
    scopes: scopesOfIdpClaim(payload[ctx.idp.scopeClaim]),
  };
  const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
  if (clientId !== undefined) claims.clientId = clientId;
  if (typeof iat === 'number') claims.iat = iat;
  if (typeof jti === 'string') claims.jti = jti;
  return claims;
}

/**
 * The scopes of a scope claim: a space-separated string (`scope`, RFC 9068 / RFC 8693), or an
 * array of strings (`scp` of Azure AD and B2C may be either). Absent: none. Any other shape is
 * a malformed token, refused rather than read as "no scopes".
 */
export function scopesOfIdpClaim(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [...new Set(value.split(' ').filter((s) => s !== ''))];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) {
    return [...new Set(value.filter((s) => s !== ''))];
  }
  throw invalidToken('The access token has a malformed scope claim.');
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function describeFailure(error: unknown): GatewayError {
  const known = describeJwtFailure(
    error,
    'The access token was not issued by an issuer this API trusts.',
  );
  if (known) return known;
  if (error instanceof errors.JWKSTimeout || isFetchFailure(error)) {
    return new GatewayError(
      'invalid_token',
      "The identity provider's signing keys could not be fetched; the token cannot be verified now.",
      { cause: error },
    );
  }
  return invalidToken('The access token is malformed.');
}

/** A failure to reach the JWKS (network, HTTP status, bounded retry) rather than a bad token. */
function isFetchFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof errors.JOSEError) return error.code === 'ERR_JOSE_GENERIC';
  return true;
}
