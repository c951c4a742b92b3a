/**
 * A verified token of an IdpAssociation associated with the Api, as the pipeline's consumer.
 *
 * An IdP user has no Subscription: the consumer is a synthetic credential whose id,
 * `idp:<IdpAssociation id>:<sub>`, is the rate-limit key (each user has their own counters, on
 * every replica), with one grant on this Api carrying the Api's default limits (`rateLimit` of
 * the Api) and the token's scopes that the Api declares. It holds no secret or key, so it can
 * authenticate nothing else. The backend sees the token's `client_id` (or `azp`) as the client
 * id, `idp:<IdpAssociation id>` when the token names none.
 */

import type { BearerAuthentication } from '../oauth/bearer.ts';
import type {
  SnapshotApi,
  SnapshotCredential,
  SnapshotGrant,
  SnapshotIdp,
} from '../snapshot/schema.ts';
import type { IdpTrust } from './idp-trust.ts';

export interface IdpAuthenticationContext {
  api: SnapshotApi;
  idps: IdpTrust;
  now: Date;
}

/** Throws `invalid_token` for any token this IdP's keys and settings do not accept now. */
export async function authenticateIdpToken(
  token: string,
  idp: SnapshotIdp,
  ctx: IdpAuthenticationContext,
): Promise<BearerAuthentication> {
  const { api } = ctx;
  const claims = await ctx.idps.verifyToken(idp, token, ctx.now);
  const declared = new Set(api.declaredScopes);
  const scopes = claims.scopes.filter((s) => declared.has(s));
  const clientId = claims.clientId ?? `idp:${idp.id}`;
  const grant: SnapshotGrant = { apiId: api.id, scopes, rateLimit: api.rateLimit };
  const [namespace = '', name = ''] = idp.id.split('/');
  const credential: SnapshotCredential = {
    id: idpConsumerId(idp.id, claims.sub),
    namespace,
    name,
    clientId,
    clientSecrets: [],
    apiKeys: [],
    suspended: false,
    clientCredentials: false,
    apiKey: false,
    grants: [grant],
  };
  return {
    credential,
    grant,
    scopes,
    clientId,
    subject: claims.sub,
    claims: {
      iss: claims.iss,
      aud: claims.aud,
      sub: claims.sub,
      client_id: clientId,
      scope: claims.scopes.join(' '),
      iat: claims.iat ?? 0,
      exp: claims.exp,
      jti: claims.jti ?? '',
    },
    idp: { id: idp.id, issuer: idp.issuer },
  };
}

/** The consumer (rate-limit key) of an IdP user. */
export function idpConsumerId(idpId: string, subject: string): string {
  return `idp:${idpId}:${subject}`;
}
