/**
 * Authenticating a request's bearer token against the snapshot the request started with.
 *
 * A verified signature is not enough: the credential the token was minted for must still exist,
 * not be suspended, and hold a grant on this Api (directly or through a Product that still
 * contains it: the compiler emits the grant only then). That is how deleting or suspending a
 * Subscription, or removing an Api from a Product, revokes tokens already minted, within one
 * reload. Scopes are narrowed the same way: a scope taken from a Subscription stops working at once.
 *
 * Those snapshot checks run on every request, cached token or not: the verified-token cache
 * (access-token.ts) only spares the signature, never a revocation.
 */

import { decodeJwt } from 'jose';
import { GatewayError } from '../errors.ts';
import { authenticateIdpToken } from '../idp/authenticate-idp-token.ts';
import type { IdpTrust } from '../idp/idp-trust.ts';
import type { LoadedSnapshot } from '../snapshot/loaded.ts';
import type { SnapshotApi, SnapshotCredential, SnapshotGrant } from '../snapshot/schema.ts';
import {
  type AccessTokenClaims,
  cachedAccessToken,
  scopesOfClaim,
  type VerifiedTokenCache,
  type VerifyAccessTokenContext,
  verifyAccessToken,
} from './access-token.ts';
import type { AuthorizationStore } from './authorize/store.ts';
import { apiAudience, apiIssuer } from './issuer.ts';
import type { LoadedKeys } from './keys.ts';

export interface BearerContext {
  api: SnapshotApi;
  loaded: LoadedSnapshot;
  keys: LoadedKeys;
  publicUrl: string;
  now: Date;
  /** External IdPs (issue 6). Absent: tokens of any other issuer are refused. */
  idps?: IdpTrust;
  /** Token ids revoked by an authorization code replay (issue 6). Absent: not checked. */
  revocations?: Pick<AuthorizationStore, 'isRevoked'>;
  /** Tokens already verified (access-token.ts); absent: every request verifies the signature. */
  verifiedTokens?: VerifiedTokenCache;
}

export interface BearerAuthentication {
  credential: SnapshotCredential;
  /** The credential's grant on this Api (its rate limits apply to the request). */
  grant: SnapshotGrant;
  /** token scopes ∩ currently granted scopes ∩ scopes the Api declares. */
  scopes: string[];
  clientId: string;
  /** `sub`: the client_id for client credentials, the user for the authorization code flow. */
  subject: string;
  /** For an IdP token: its claims in the same shape (`jti` '' and `iat` 0 when it has none). */
  claims: AccessTokenClaims;
  /**
   * Set for a token of an associated IdpAssociation. `credential` is then a synthetic one, id
   * `idp:<idp id>:<sub>`, holding no secret and one grant: the Api's default rate limits.
   */
  idp?: { id: string; issuer: string };
}

/**
 * Authenticates `token` (the value after `Bearer `) for `ctx.api`. Throws `invalid_token` for
 * any token that is not valid here now. Does NOT check the operation's required scopes: the
 * caller compares them with the returned `scopes`.
 */
export async function authenticateBearerToken(
  token: string,
  ctx: BearerContext,
): Promise<BearerAuthentication> {
  const { api, loaded, keys, publicUrl, now } = ctx;
  const issuer = apiIssuer(api, publicUrl);
  const verification: VerifyAccessTokenContext = {
    api,
    issuer,
    audience: apiAudience(api, publicUrl),
    keys,
    now,
    ...(ctx.verifiedTokens ? { cache: ctx.verifiedTokens } : {}),
  };

  // A token verified before, still valid for this Api now: no decoding, no signature.
  let claims = cachedAccessToken(token, verification);
  if (!claims) {
    // Route on the unverified `iss` only to pick the verifier; each verifier checks everything
    // itself with its own pinned keys, so a forged `iss` gains nothing. (jose decodes the token
    // again: it takes the compact form only. Once per token, then it is cached.)
    const tokenIssuer = unverifiedIssuer(token);
    if (tokenIssuer !== issuer) {
      // Tokens of the IdpAssociations this Api accepts (`api.idps`, issuer matched exactly) are
      // verified by that IdP's keys (idp/); any other issuer is refused.
      const idp =
        ctx.idps &&
        api.idps.map((id) => loaded.idpsById.get(id)).find((i) => i?.issuer === tokenIssuer);
      if (idp && ctx.idps) return authenticateIdpToken(token, idp, { api, idps: ctx.idps, now });
      throw new GatewayError(
        'invalid_token',
        'The access token was not issued by an issuer this API trusts.',
      );
    }
    claims = await verifyAccessToken(token, verification);
  }

  const credential = loaded.credentialsByClientId.get(claims.client_id);
  if (!credential) throw new GatewayError('invalid_token', 'The access token has been revoked.');
  if (credential.suspended) {
    throw new GatewayError('invalid_token', 'The subscription of this access token is suspended.');
  }
  // Tokens minted before a suspension stay revoked once it is lifted. `iat` has whole seconds:
  // a token minted in the second of the resume is kept (none can be minted while suspended).
  if (
    credential.tokensNotBefore !== undefined &&
    claims.iat < Math.floor(Date.parse(credential.tokensNotBefore) / 1000)
  ) {
    throw new GatewayError('invalid_token', 'The access token has been revoked.');
  }
  const grant = loaded.grantOf(credential, api.id);
  if (!grant) throw new GatewayError('invalid_token', 'The access token has been revoked.');

  // A user's token (authorization code flow: `sub` is not the client) is refused once its code
  // was replayed. Client credentials tokens skip the store round trip. An unreachable store
  // does not take every user token down with it: the check is then skipped (fail open), as a
  // replay revocation is defence in depth (RFC 6749 §4.1.2: "SHOULD revoke (when possible)").
  if (ctx.revocations && claims.sub !== claims.client_id) {
    const revoked = await ctx.revocations.isRevoked(claims.jti).catch(() => false);
    if (revoked) throw new GatewayError('invalid_token', 'The access token has been revoked.');
  }

  // A handful of scopes each: searching the lists costs less than building sets per request.
  const scopes = scopesOfClaim(claims.scope).filter(
    (s) => grant.scopes.includes(s) && api.declaredScopes.includes(s),
  );
  return { credential, grant, scopes, clientId: claims.client_id, subject: claims.sub, claims };
}

function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = decodeJwt(token);
    return iss;
  } catch {
    throw new GatewayError('invalid_token', 'The access token is malformed.');
  }
}
