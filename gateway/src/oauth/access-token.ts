/**
 * Access tokens the gateway mints for an Api: RFC 9068 JWTs (`typ: at+jwt`), signed with the
 * Api's algorithm by the environment's active key of that algorithm.
 *
 * `verifyAccessToken` checks the token itself (signature, algorithm, `typ`, issuer, audience,
 * lifetime, claim shapes). It does NOT check that the client still exists, is not suspended or
 * is still granted this Api: bearer.ts does, with the snapshot.
 */

import { randomUUID } from 'node:crypto';
import { type CompactJWSHeaderParameters, type CryptoKey, errors, jwtVerify, SignJWT } from 'jose';
import { GatewayError } from '../errors.ts';
import type { SnapshotApi, SnapshotCredential } from '../snapshot/schema.ts';
import type { LoadedKeys } from './keys.ts';

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
  const token = await new SignJWT({ client_id: claims.client_id, scope })
    .setProtectedHeader({ alg, typ: ACCESS_TOKEN_TYPE, kid: signer.kid })
    .setIssuer(claims.iss)
    .setAudience(audience)
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setJti(claims.jti)
    .sign(signer.key);
  return { token, expiresIn, claims };
}

export interface VerifyAccessTokenContext {
  api: SnapshotApi;
  issuer: string;
  audience: string;
  keys: LoadedKeys;
  now: Date;
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
  const alg = ctx.api.tokens.signingAlgorithm;
  const resolveKey = (header: CompactJWSHeaderParameters): CryptoKey => {
    if (typeof header.kid !== 'string')
      throw invalidToken('The access token names no signing key.');
    const found = ctx.keys.verificationKey(header.kid, ctx.now);
    if (!found) throw invalidToken('The access token was signed by an unknown key.');
    if (found.alg !== header.alg)
      throw invalidToken('The access token was signed with the wrong algorithm.');
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

  const { iss, aud, sub, client_id, scope, iat, exp, jti } = payload;
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
  return { iss, aud: aud as string | string[], sub, client_id, scope: scope ?? '', iat, exp, jti };
}

/** The scopes of a scope claim (space-separated), without empties or duplicates. */
export function scopesOfClaim(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

function invalidToken(description: string): GatewayError {
  return new GatewayError('invalid_token', description);
}

/**
 * A fixed description per failure kind (a stable contract, unlike jose's messages). jose's error
 * is not kept as the cause: some carry the token's claims, which have no place in a log.
 */
function describeFailure(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWTExpired) return invalidToken('The access token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalidToken('The access token lacks a required claim.');
    switch (error.claim) {
      case 'iss':
        return invalidToken("The access token was not issued by this API's authorization server.");
      case 'aud':
        return invalidToken('The access token is not meant for this API.');
      case 'nbf':
      case 'iat':
        return invalidToken('The access token is not valid yet.');
      case 'typ':
        return invalidToken('The token is not an at+jwt access token.');
      default:
        return invalidToken('The access token has invalid claims.');
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalidToken('The access token is signed with an algorithm this API does not accept.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken('The access token signature is invalid.');
  }
  return invalidToken('The access token is malformed.');
}
