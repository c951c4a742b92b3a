/**
 * Step 3: verify every credential the request presents for this Api, before looking at what the
 * operation requires (step 4, authorize.ts). Collected:
 * - `Authorization: Bearer <token>` (any other scheme, e.g. Basic, is not a credential of the
 *   gateway: it is left alone and reaches the backend);
 * - each distinct location (`header` or `query` + name) of the Api's apiKey schemes.
 *
 * A credential that is presented but invalid is 401 `invalid_token` whatever the operation
 * requires, even when authentication is optional or the operation is public (SPEC: an invalid
 * token on an optional operation is still 401; we treat public operations alike, so a client
 * never silently loses its identity). Presenting credentials of two different Subscriptions at
 * once is refused too: one request has one consumer.
 *
 * An API key is valid when its hash is known, it has not expired (rotation grace period), its
 * Subscription is not suspended and has `apiKey` enabled, and it holds a grant on this Api. It
 * then carries the grant's scopes, so scope checks treat keys and tokens alike.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.ts';
import { authenticateBearerToken, type BearerContext } from '../oauth/bearer.ts';
import type { SnapshotApi, SnapshotCredential, SnapshotGrant } from '../snapshot/schema.ts';

export interface ApiKeyLocation {
  in: 'header' | 'query';
  /** Lower-case for headers (case-insensitive), as declared for query parameters. */
  name: string;
}

export interface PresentedCredentials {
  bearer?: string;
  apiKeys: Array<{ location: ApiKeyLocation; value: string }>;
}

/** Who the request authenticated as, and with what. */
export interface Consumer {
  credential: SnapshotCredential;
  grant: SnapshotGrant;
  clientId: string;
  /** Token: its `sub`; API key: the client id. */
  subject: string;
  /** The scopes the presented credential carries on this Api. */
  scopes: string[];
}

export interface Authentication {
  /** A valid token this gateway minted for this Api. */
  bearer?: Consumer;
  /**
   * A valid token of an IdpAssociation this Api accepts (bearer.ts routes it by issuer), and
   * that IdP. Its consumer is an IdP user (`idp:<idp id>:<sub>`), not a Subscription.
   */
  idpBearer?: { consumer: Consumer; idpId: string; issuer: string };
  /** Valid API keys, by location. */
  apiKeys: Array<{ location: ApiKeyLocation; consumer: Consumer }>;
  /** The one consumer behind every valid credential presented, if any was. */
  consumer?: Consumer;
}

/** What authenticating needs: exactly what verifying a bearer token needs (oauth/bearer.ts). */
export type AuthenticateContext = BearerContext;

/** The distinct apiKey locations of an Api's schemes (synthetic `apiway:apiKey` included). */
export function apiKeyLocations(api: SnapshotApi): ApiKeyLocation[] {
  const seen = new Map<string, ApiKeyLocation>();
  for (const scheme of Object.values(api.securitySchemes)) {
    if (scheme.type !== 'apiKey') continue;
    const name = scheme.in === 'header' ? scheme.name.toLowerCase() : scheme.name;
    seen.set(`${scheme.in}\n${name}`, { in: scheme.in, name });
  }
  return [...seen.values()];
}

/** Pure: the credentials a request presents. Throws `invalid_token` for an ambiguous one. */
export function collectCredentials(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  locations: readonly ApiKeyLocation[],
): PresentedCredentials {
  const presented: PresentedCredentials = { apiKeys: [] };
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const [scheme, ...rest] = authorization.split(' ');
    if (scheme?.toLowerCase() === 'bearer') {
      const token = rest.join(' ').trim();
      if (token === '' || token.includes(' '))
        throw invalid('The Authorization header is not a valid Bearer credential.');
      presented.bearer = token;
    }
  }
  for (const location of locations) {
    if (location.in === 'header') {
      const value = headers[location.name];
      if (value === undefined) continue;
      // Node joins repeated unknown headers with ", ": an ambiguous key is refused, not guessed.
      if (typeof value !== 'string' || value === '' || value.includes(','))
        throw invalid('The API key is not valid.');
      presented.apiKeys.push({ location, value });
    } else {
      const values = query.getAll(location.name);
      if (values.length === 0) continue;
      if (values.length > 1 || values[0] === '') throw invalid('The API key is not valid.');
      presented.apiKeys.push({ location, value: values[0] as string });
    }
  }
  return presented;
}

/** Verifies what `collectCredentials` found. Throws `invalid_token` (401) for any invalid one. */
export async function verifyCredentials(
  presented: PresentedCredentials,
  ctx: AuthenticateContext,
): Promise<Authentication> {
  const authentication: Authentication = { apiKeys: [] };
  const consumers: Consumer[] = [];
  if (presented.bearer !== undefined) {
    const token = await authenticateBearerToken(presented.bearer, ctx);
    const consumer: Consumer = {
      credential: token.credential,
      grant: token.grant,
      clientId: token.clientId,
      subject: token.subject,
      scopes: token.scopes,
    };
    if (token.idp) {
      authentication.idpBearer = { consumer, idpId: token.idp.id, issuer: token.idp.issuer };
    } else {
      authentication.bearer = consumer;
    }
    consumers.push(consumer);
  }
  for (const { location, value } of presented.apiKeys) {
    const consumer = verifyApiKey(value, ctx);
    authentication.apiKeys.push({ location, consumer });
    consumers.push(consumer);
  }
  const [first] = consumers;
  if (first && consumers.some((c) => c.credential.id !== first.credential.id)) {
    throw invalid('The request presents credentials of different subscriptions.');
  }
  if (first) authentication.consumer = first;
  return authentication;
}

/** One answer for every reason a key fails: no hint which part was wrong. */
function verifyApiKey(value: string, ctx: AuthenticateContext): Consumer {
  const match = ctx.loaded.findApiKey(value);
  const credential = match?.credential;
  const expiresAt = match?.key.expiresAt;
  // An unreadable expiry fails closed, like a past one.
  const expired = expiresAt !== undefined && !(Date.parse(expiresAt) > ctx.now.getTime());
  const grant = credential ? ctx.loaded.grantOf(credential, ctx.api.id) : undefined;
  if (!credential || expired || credential.suspended || !credential.apiKey || !grant) {
    throw invalid('The API key is not valid.');
  }
  return {
    credential,
    grant,
    clientId: credential.clientId,
    subject: credential.clientId,
    scopes: [...grant.scopes],
  };
}

function invalid(description: string): GatewayError {
  return new GatewayError('invalid_token', description);
}
