/**
 * The `authorization_code` grant of the token endpoint (RFC 6749 §4.1.3 + RFC 7636 §4.6), for
 * public clients (client_id only, PKCE) and confidential ones (secret + PKCE): the token
 * endpoint has authenticated the client already.
 *
 * Order: the parameters' presence and shape (no store touched) → redeem the code atomically
 * (from then on it is spent, whatever follows: one attempt per code, so a stolen code cannot be
 * tried against many verifiers) → the code's bindings: client, exact redirect URI, expiry, S256
 * verifier → the client still holds a grant on this Api → mint, `sub` the user → record the
 * token against the code (a replay revokes it). Every failure about the code is `invalid_grant`
 * with the same description, so it reveals nothing about which binding failed.
 *
 * A `scope` parameter is ignored (RFC 6749 §4.1.3 has none; some client libraries send one):
 * the token carries the consented scopes still granted now.
 */

import { GatewayError } from '../../errors.ts';
import type { LoadedSnapshot } from '../../snapshot/loaded.ts';
import { sha256Hex } from '../../snapshot/loaded.ts';
import type { SnapshotApi, SnapshotCredential } from '../../snapshot/schema.ts';
import { type MintedAccessToken, mintAccessToken } from '../access-token.ts';
import { apiAudience, apiIssuer } from '../issuer.ts';
import type { LoadedKeys } from '../keys.ts';
import { isCodeVerifier, verifierMatches } from './pkce.ts';
import type { AuthorizationStore } from './store.ts';

export interface CodeGrantContext {
  api: SnapshotApi;
  loaded: LoadedSnapshot;
  keys: LoadedKeys;
  publicUrl: string;
  now: Date;
  store: AuthorizationStore;
}

const INVALID_CODE =
  'The authorization code is invalid, expired, already used, or was issued to another client or redirect URI.';

export async function redeemAuthorizationCode(
  params: ReadonlyMap<string, string>,
  credential: SnapshotCredential,
  ctx: CodeGrantContext,
): Promise<MintedAccessToken> {
  if (!credential.authorizationCode) {
    throw new GatewayError(
      'unauthorized_client',
      'The authorization_code grant is not enabled for this client.',
    );
  }
  const code = params.get('code');
  const redirectUri = params.get('redirect_uri');
  const verifier = params.get('code_verifier');
  if (code === undefined) throw invalidRequest('code is required.');
  if (redirectUri === undefined) throw invalidRequest('redirect_uri is required.');
  if (verifier === undefined) throw invalidRequest('code_verifier is required (PKCE).');
  if (!isCodeVerifier(verifier)) {
    throw invalidRequest('code_verifier must be 43 to 128 unreserved characters (RFC 7636).');
  }

  const codeHash = sha256Hex(code);
  // The used mark must outlive every token the code can mint.
  const ttl = ctx.api.tokens.ttlSeconds;
  const redemption = await ctx.store
    .redeemCode(ctx.api.id, codeHash, ttl)
    .catch((error: unknown) => {
      throw new GatewayError(
        'service_unavailable',
        'The authorization server cannot redeem codes now.',
        { cause: error },
      );
    });
  if (redemption.outcome === 'replayed') {
    throw new GatewayError(
      'invalid_grant',
      'The authorization code was already used; the tokens issued for it are revoked.',
    );
  }
  if (redemption.outcome === 'unknown') throw new GatewayError('invalid_grant', INVALID_CODE);
  const record = redemption.code;
  if (
    record.apiId !== ctx.api.id ||
    record.clientId !== credential.clientId ||
    record.redirectUri !== redirectUri ||
    record.expiresAt <= ctx.now.getTime() ||
    !verifierMatches(verifier, record.codeChallenge)
  ) {
    throw new GatewayError('invalid_grant', INVALID_CODE);
  }
  const grant = ctx.loaded.grantOf(credential, ctx.api.id);
  if (!grant)
    throw new GatewayError('unauthorized_client', 'The client is not subscribed to this API.');

  // Consented scopes still granted now (the Subscription may have lost some since).
  const granted = new Set(grant.scopes);
  const minted = await mintAccessToken({
    api: ctx.api,
    credential,
    scopes: record.scopes.filter((s) => granted.has(s)),
    issuer: apiIssuer(ctx.api, ctx.publicUrl),
    audience: apiAudience(ctx.api, ctx.publicUrl),
    keys: ctx.keys,
    now: ctx.now,
    subject: record.subject,
  });
  const recorded = await ctx.store
    .recordToken(ctx.api.id, codeHash, minted.claims.jti, ttl)
    .catch((error: unknown) => {
      throw new GatewayError(
        'service_unavailable',
        'The authorization server cannot redeem codes now.',
        { cause: error },
      );
    });
  if (!recorded) {
    throw new GatewayError(
      'invalid_grant',
      'The authorization code was already used; the tokens issued for it are revoked.',
    );
  }
  return minted;
}

function invalidRequest(description: string): GatewayError {
  return new GatewayError('invalid_request', description);
}
