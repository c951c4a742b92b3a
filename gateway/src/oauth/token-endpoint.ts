/**
 * The token endpoint of one Api, `POST {basePath}/oauth2/v2/token` (RFC 6749 §3.2), framework
 * free: it takes the parsed request line, headers and raw body, and returns the response.
 *
 * Order of checks: method → media type → no secret in the query → form parsing (no repeated
 * parameter) → client authentication extraction (one method only) → grant_type → client
 * authentication → the grant's own checks → mint. Structural errors come first, so a malformed
 * request never reaches the secret comparison.
 */

import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MIMEType } from 'node:util';
import { errorBody, GatewayError } from '../errors.ts';
import type { LoadedSnapshot } from '../snapshot/loaded.ts';
import type { HashedSecret, SnapshotApi, SnapshotCredential } from '../snapshot/schema.ts';
import { type MintedAccessToken, mintAccessToken } from './access-token.ts';
import { redeemAuthorizationCode } from './authorize/code-grant.ts';
import type { AuthorizationStore } from './authorize/store.ts';
import { apiAudience, apiIssuer } from './issuer.ts';
import type { LoadedKeys } from './keys.ts';

export const TOKEN_ENDPOINT_PATH = '/oauth2/v2/token';

export interface TokenRequest {
  method: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  /** The raw request body (the caller bounds its size). */
  body: string;
}

export interface TokenEndpointContext {
  api: SnapshotApi;
  loaded: LoadedSnapshot;
  keys: LoadedKeys;
  publicUrl: string;
  now: Date;
  /**
   * Codes of the authorization code flow (oauth/authorize/). Absent: that grant is
   * `unsupported_grant_type` (a gateway built without the flow).
   */
  authorizationStore?: AuthorizationStore;
}

export interface TokenResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** RFC 6749 §5.1: token responses, and their errors, must not be cached. */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/**
 * Parameters that carry a secret or a single-use value: in a query string they end up in access
 * logs, proxies and browser history, so a request carrying one there is refused, not ignored.
 */
const QUERY_FORBIDDEN = [
  'client_secret',
  'code',
  'code_verifier',
  'refresh_token',
  'password',
  'client_assertion',
  'assertion',
];

/** Parameters this endpoint reads: only these are named in error descriptions (never a value). */
const KNOWN_PARAMETERS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'scope',
  'code',
  'redirect_uri',
  'code_verifier',
]);

/**
 * The usual spellings of the form media type (with or without a UTF-8 charset), accepted without
 * parsing (`MIMEType` was ~1.5% of a token request's CPU). Each is one the parser in
 * `requireFormBody` accepts, so the verdict is the same; any other string is parsed.
 */
const FORM_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/x-www-form-urlencoded;charset=utf-8',
  'application/x-www-form-urlencoded;charset=UTF-8',
]);

/**
 * Decodes the Basic credentials, refusing bytes that are not UTF-8. Stateless between calls
 * (`decode` without `stream` starts afresh), so one serves every request.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** One description for an unknown client and a wrong secret: no client enumeration. */
const CLIENT_AUTH_FAILED = 'Client authentication failed.';

type ClientAuthentication =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'none'; clientId: string };

interface AuthenticatedClient {
  credential: SnapshotCredential;
  method: ClientAuthentication['method'];
}

type GrantHandler = (
  params: ReadonlyMap<string, string>,
  client: AuthenticatedClient,
  ctx: TokenEndpointContext,
) => Promise<MintedAccessToken>;

/** Supported grants by `grant_type`. */
const GRANTS: ReadonlyMap<string, GrantHandler> = new Map([
  ['client_credentials', clientCredentialsGrant],
  // Authorization code flow (issue 6): the grant lives in ./authorize/code-grant.ts.
  ['authorization_code', authorizationCodeGrant],
]);

/**
 * Answers a token request. Every GatewayError becomes an RFC 6749 §5.2 JSON response; anything
 * else (a bug) is rethrown for the pipeline to log and answer as `server_error`.
 */
export async function handleTokenRequest(
  request: TokenRequest,
  ctx: TokenEndpointContext,
): Promise<TokenResponse> {
  try {
    const minted = await processTokenRequest(request, ctx);
    return json(200, {
      access_token: minted.token,
      token_type: 'Bearer',
      expires_in: minted.expiresIn,
      scope: minted.claims.scope,
    });
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    const headers: Record<string, string> = { ...error.headers };
    // RFC 6749 §5.2: a client that tried the Authorization header gets the challenge of the
    // scheme we support there.
    if (error.code === 'invalid_client' && request.headers.authorization !== undefined) {
      const realm = apiIssuer(ctx.api, ctx.publicUrl).replace(/["\\]/g, '\\$&');
      headers['WWW-Authenticate'] = `Basic realm="${realm}", charset="UTF-8"`;
    }
    return json(error.status, errorBody(error), headers);
  }
}

async function processTokenRequest(
  request: TokenRequest,
  ctx: TokenEndpointContext,
): Promise<MintedAccessToken> {
  if (request.method !== 'POST') {
    throw new GatewayError('method_not_allowed', 'The token endpoint accepts only POST.', {
      headers: { Allow: 'POST' },
    });
  }
  requireFormBody(request.headers['content-type']);
  for (const name of QUERY_FORBIDDEN) {
    if (request.query.has(name))
      throw invalidRequest(`${name} must be sent in the request body, not the query string.`);
  }
  const params = parseForm(request.body);
  const auth = clientAuthentication(request.headers.authorization, params);

  const grantType = params.get('grant_type');
  if (grantType === undefined) throw invalidRequest('grant_type is required.');
  const grant = GRANTS.get(grantType);
  if (!grant || (grantType === 'authorization_code' && !ctx.authorizationStore)) {
    throw new GatewayError('unsupported_grant_type', 'This grant_type is not supported.');
  }

  const client = authenticateClient(auth, ctx);
  return grant(params, client, ctx);
}

/** RFC 6749 §4.1.3: redeems a code of the authorization endpoint (PKCE required, `sub` the user). */
async function authorizationCodeGrant(
  params: ReadonlyMap<string, string>,
  client: AuthenticatedClient,
  ctx: TokenEndpointContext,
): Promise<MintedAccessToken> {
  const store = ctx.authorizationStore;
  if (!store) throw new GatewayError('unsupported_grant_type', 'This grant_type is not supported.');
  return redeemAuthorizationCode(params, client.credential, { ...ctx, store });
}

/** RFC 6749 §4.4: the client acts on its own behalf; the token carries what it holds on this Api. */
async function clientCredentialsGrant(
  params: ReadonlyMap<string, string>,
  client: AuthenticatedClient,
  ctx: TokenEndpointContext,
): Promise<MintedAccessToken> {
  const { credential } = client;
  if (client.method === 'none' || credential.authorizationCode?.public) {
    throw new GatewayError(
      'unauthorized_client',
      'A public client cannot use the client_credentials grant.',
    );
  }
  if (!credential.clientCredentials) {
    throw new GatewayError(
      'unauthorized_client',
      'The client_credentials grant is not enabled for this client.',
    );
  }
  // The secret was right, so invalid_client would send the user chasing a wrong secret: the
  // client is known, just not authorised on this Api.
  const grant = ctx.loaded.grantOf(credential, ctx.api.id);
  if (!grant)
    throw new GatewayError('unauthorized_client', 'The client is not subscribed to this API.');

  const scopes = grantedScopes(grant.scopes, ctx.api.declaredScopes, params.get('scope'));
  return mintAccessToken({
    api: ctx.api,
    credential,
    scopes,
    issuer: apiIssuer(ctx.api, ctx.publicUrl),
    audience: apiAudience(ctx.api, ctx.publicUrl),
    keys: ctx.keys,
    now: ctx.now,
  });
}

/**
 * RFC 6749 §3.3: requested ∩ granted ∩ declared, in the grant's (sorted) order. An omitted scope
 * yields everything granted on this Api, which may be nothing: such a token still works for
 * operations that ask for no scope, like an API key. A requested scope with an empty result is
 * `invalid_scope`.
 */
export function grantedScopes(
  granted: readonly string[],
  declared: readonly string[],
  requested?: string,
): string[] {
  const declaredSet = new Set(declared);
  const available = [...new Set(granted)].filter((s) => declaredSet.has(s));
  if (requested === undefined) return available;
  const requestedSet = new Set(requested.split(' ').filter((s) => s !== ''));
  const result = available.filter((s) => requestedSet.has(s));
  if (result.length === 0) {
    throw new GatewayError(
      'invalid_scope',
      'None of the requested scopes is granted to this client on this API.',
    );
  }
  return result;
}

function requireFormBody(contentType: string | undefined): void {
  if (contentType !== undefined && FORM_CONTENT_TYPES.has(contentType)) return;
  const expected = 'The token request body must be application/x-www-form-urlencoded.';
  if (contentType === undefined) throw invalidRequest(expected);
  let type: MIMEType;
  try {
    type = new MIMEType(contentType);
  } catch {
    throw invalidRequest(expected);
  }
  if (type.essence !== 'application/x-www-form-urlencoded') throw invalidRequest(expected);
  const charset = type.params.get('charset');
  if (charset !== null && charset.toLowerCase() !== 'utf-8') {
    throw invalidRequest('The token request body must be UTF-8.');
  }
}

/**
 * The form's parameters. RFC 6749 §3.2: a repeated parameter is an error; a parameter without
 * a value is treated as omitted.
 */
function parseForm(body: string): Map<string, string> {
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (seen.has(name)) {
      throw invalidRequest(
        KNOWN_PARAMETERS.has(name)
          ? `The parameter ${name} is repeated.`
          : 'A parameter is repeated.',
      );
    }
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** How the client authenticates: HTTP Basic, or client_id (+ client_secret) in the body, never both. */
function clientAuthentication(
  authorization: string | undefined,
  params: ReadonlyMap<string, string>,
): ClientAuthentication | undefined {
  const bodyClientId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined) {
    const basic = parseBasic(authorization);
    if (bodySecret !== undefined) {
      throw invalidRequest(
        'Use one client authentication method: HTTP Basic or the request body, not both.',
      );
    }
    // RFC 6749 §3.2.1 lets a client name itself in the body too; it must be the same client.
    if (bodyClientId !== undefined && bodyClientId !== basic.clientId) {
      throw invalidRequest('client_id in the body does not match the HTTP Basic credentials.');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (bodyClientId === undefined) {
    if (bodySecret !== undefined) throw invalidRequest('client_secret was sent without client_id.');
    return undefined;
  }
  if (bodySecret === undefined) return { method: 'none', clientId: bodyClientId };
  return { method: 'client_secret_post', clientId: bodyClientId, secret: bodySecret };
}

/**
 * RFC 6749 §2.3.1 + RFC 7617: `Basic base64(urlencode(client_id) ":" urlencode(client_secret))`.
 * The two halves are form-urlencoded inside the Basic credentials, so `+` is a space and `%XX`
 * an octet. Another scheme is `invalid_client` (an unsupported authentication method).
 */
function parseBasic(authorization: string): { clientId: string; secret: string } {
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(authorization);
  if (!match?.[1]) {
    if (!/^Basic(?:[ ]|$)/i.test(authorization)) {
      throw new GatewayError(
        'invalid_client',
        'Use HTTP Basic or the request body to authenticate the client.',
      );
    }
    throw invalidRequest('The HTTP Basic credentials are malformed.');
  }
  let decoded: string;
  try {
    decoded = STRICT_UTF8.decode(Buffer.from(match[1], 'base64'));
  } catch {
    throw invalidRequest('The HTTP Basic credentials are malformed.');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidRequest('The HTTP Basic credentials are malformed.');
  try {
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    throw invalidRequest(
      'The HTTP Basic credentials must be form-urlencoded (RFC 6749 section 2.3.1).',
    );
  }
}

function formDecode(value: string): string {
  const spaced = value.replaceAll('+', ' ');
  // Without `%` there is nothing to decode (nor anything malformed): the usual client id.
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}

/**
 * The credential of an authenticated client. Unknown client and wrong secret get the same
 * `invalid_client`; the presented secret is hashed before the lookup so both take the same path.
 * A suspended credential is `invalid_client` too (its credentials "stop working at once"), said
 * only to a caller that proved it holds the secret.
 */
function authenticateClient(
  auth: ClientAuthentication | undefined,
  ctx: TokenEndpointContext,
): AuthenticatedClient {
  if (!auth) throw new GatewayError('invalid_client', 'Client authentication is required.');
  const presented = auth.method === 'none' ? undefined : hash('sha256', auth.secret, 'buffer');
  const credential = ctx.loaded.credentialsByClientId.get(auth.clientId);
  if (!credential) throw new GatewayError('invalid_client', CLIENT_AUTH_FAILED);

  const isPublic = credential.authorizationCode?.public === true;
  if (presented === undefined) {
    // No secret: only a public client may identify itself by client_id alone.
    if (!isPublic) throw new GatewayError('invalid_client', CLIENT_AUTH_FAILED);
  } else if (isPublic || !matchesAnySecret(presented, credential.clientSecrets, ctx.now)) {
    throw new GatewayError('invalid_client', CLIENT_AUTH_FAILED);
  }
  if (credential.suspended) throw new GatewayError('invalid_client', 'The client is suspended.');
  return { credential, method: auth.method };
}

/** Constant-time comparison with every secret still valid at `now` (rotated-out ones in their grace period). */
function matchesAnySecret(presented: Buffer, secrets: readonly HashedSecret[], now: Date): boolean {
  let matched = false;
  for (const secret of secrets) {
    const stored = Buffer.from(secret.sha256, 'hex');
    if (stored.length !== presented.length || !isUnexpired(secret, now)) continue;
    // No early exit: the time taken does not depend on which secret matched.
    if (timingSafeEqual(stored, presented)) matched = true;
  }
  return matched;
}

function isUnexpired(secret: HashedSecret, now: Date): boolean {
  if (secret.expiresAt === undefined) return true;
  const expiresAt = Date.parse(secret.expiresAt);
  // An unreadable date fails closed.
  return !Number.isNaN(expiresAt) && now.getTime() < expiresAt;
}

function invalidRequest(description: string): GatewayError {
  return new GatewayError('invalid_request', description);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): TokenResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}
