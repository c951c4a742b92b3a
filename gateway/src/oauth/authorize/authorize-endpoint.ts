/**
 * The authorization endpoint of one Api and its two steps, framework free (request in,
 * response out), like the token endpoint:
 *
 * 1. `GET {basePath}/oauth2/v2/authorize`: the client's request is checked
 *    (authorization-request.ts); a transaction is stored (any replica can continue it), bound
 *    to this browser by a cookie; the browser goes to the login IdP with the gateway's own
 *    state (the transaction id), nonce and PKCE.
 * 2. `GET {basePath}/oauth2/v2/authorize/callback`: the IdP sends the browser back; the
 *    transaction and its browser are checked, openid-client redeems the IdP's code and verifies
 *    the ID token; its `sub` is the user. Then a redirect (so a reload does not replay the
 *    IdP's code) to:
 * 3. `GET …/consent?transaction=…`: the consent page, naming the scopes; `POST …/consent`
 *    (same-origin form, CSRF token, SameSite cookie): the decision. Approve: a code (random,
 *    256 bits, single use, 60 s, bound to client, redirect URI, challenge, scopes and user) and
 *    a redirect with `code`, `state` and `iss` (RFC 9207). Deny: `error=access_denied`.
 *
 * Errors about `client_id` or `redirect_uri`, or about a transaction that cannot be trusted
 * (unknown, expired, another browser's), are shown as a page (JSON for non-browser clients) and
 * never redirected. Every other error goes to the client's redirect URI.
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { MIMEType } from 'node:util';
import type { LoginClient } from '../../idp/login-client.ts';
import type { LoadedSnapshot } from '../../snapshot/loaded.ts';
import { sha256Hex } from '../../snapshot/loaded.ts';
import type { SnapshotApi, SnapshotIdp } from '../../snapshot/schema.ts';
import { apiIssuer } from '../issuer.ts';
import { checkAuthorizationRequest, redirectWith } from './authorization-request.ts';
import {
  bindingCookie,
  bindingCookieName,
  newBrowserBinding,
  presentsBinding,
} from './browser-binding.ts';
import { consentPage, errorPage } from './pages.ts';
import {
  AUTHORIZATION_PATHS,
  type AuthorizationServices,
  type AuthorizationStep,
  loginIdpFor,
} from './services.ts';
import type { AuthorizationTransaction } from './store.ts';

/** How long a person has from the authorization request to the consent decision. */
export const TRANSACTION_TTL_SECONDS = 600;
/** How long a code may wait for its token request (RFC 6749 §4.1.2 recommends at most 10 min). */
export const CODE_TTL_SECONDS = 60;

const TRANSACTION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizeRequest {
  method: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  /** The raw query string (the callback hands it to openid-client unchanged). */
  rawQuery: string;
  /** The POST body of the consent decision (the caller bounds its size); '' otherwise. */
  body: string;
}

export interface AuthorizeContext {
  api: SnapshotApi;
  loaded: LoadedSnapshot;
  publicUrl: string;
  now: Date;
  services: AuthorizationServices;
}

export interface AuthorizeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export async function handleAuthorizationStep(
  step: AuthorizationStep,
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
): Promise<AuthorizeResponse> {
  const allowed = step === 'consent' ? ['GET', 'POST'] : ['GET'];
  if (!allowed.includes(request.method)) {
    const response = failure(
      request,
      405,
      'invalid_request',
      `This endpoint accepts only ${allowed.join(' and ')}.`,
    );
    response.headers.allow = allowed.join(', ');
    return response;
  }
  const idp = loginIdpFor(ctx.api, ctx.loaded.snapshot.idps);
  if (!idp) {
    return failure(
      request,
      404,
      'not_found',
      'The authorization endpoint is not available: no IdpAssociation with a login is configured in this environment.',
    );
  }
  switch (step) {
    case 'authorize':
      return authorize(request, ctx, idp);
    case 'callback':
      return callback(request, ctx);
    case 'consent':
      return request.method === 'POST' ? decide(request, ctx) : showConsent(request, ctx);
  }
}

async function authorize(
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
  idp: SnapshotIdp,
): Promise<AuthorizeResponse> {
  const { api, services } = ctx;
  const check = checkAuthorizationRequest(request.query, api, ctx.loaded);
  if (check.kind === 'show') return failure(request, 400, check.error, check.description);
  const iss = apiIssuer(api, ctx.publicUrl);
  if (check.kind === 'redirect') {
    return redirect(
      redirectWith(check.redirectUri, {
        error: check.error,
        error_description: check.description,
        state: check.state,
        iss,
      }),
    );
  }
  const { request: valid } = check;
  const backToClient = (error: string, description: string) =>
    redirect(
      redirectWith(valid.redirectUri, {
        error,
        error_description: description,
        state: valid.state,
        iss,
      }),
    );

  const id = randomBytes(32).toString('base64url');
  const binding = newBrowserBinding();
  let start: Awaited<ReturnType<LoginClient['start']>>;
  try {
    const client = await services.idps.loginClient(idp);
    start = await client.start(`${iss}${AUTHORIZATION_PATHS.callback}`, id);
  } catch (error) {
    services.logger.warn(
      { event: 'login_unavailable', idp: idp.id, reason: (error as Error).message },
      'the login IdP cannot be used',
    );
    return backToClient(
      'temporarily_unavailable',
      'The identity provider cannot be reached; try again later.',
    );
  }
  const transaction: AuthorizationTransaction = {
    id,
    apiId: api.id,
    clientId: valid.credential.clientId,
    redirectUri: valid.redirectUri,
    ...(valid.state === undefined ? {} : { state: valid.state }),
    codeChallenge: valid.codeChallenge,
    scopes: valid.scopes,
    idpId: idp.id,
    browserBinding: binding.hash,
    csrfToken: randomBytes(32).toString('base64url'),
    login: start.checks,
    expiresAt: ctx.now.getTime() + TRANSACTION_TTL_SECONDS * 1000,
  };
  try {
    await services.store.saveTransaction(transaction, TRANSACTION_TTL_SECONDS);
  } catch (error) {
    services.logger.error(
      { event: 'authorization_store_failed', err: error },
      'cannot store the sign-in',
    );
    return backToClient(
      'temporarily_unavailable',
      'The authorization server cannot start a sign-in now; try again later.',
    );
  }
  const response = redirect(start.url);
  response.headers['set-cookie'] = cookieFor(ctx, id, binding.secret, TRANSACTION_TTL_SECONDS);
  return response;
}

async function callback(
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
): Promise<AuthorizeResponse> {
  const { services } = ctx;
  const found = await boundTransaction(request, ctx, request.query.get('state'));
  if ('response' in found) return found.response;
  const { transaction } = found;
  if (transaction.subject !== undefined) {
    // The IdP's answer was used already (a reload, the back button): carry on to consent.
    return redirect(consentUrl(ctx, transaction.id));
  }
  const iss = apiIssuer(ctx.api, ctx.publicUrl);
  const backToClient = async (error: string, description: string) => {
    await services.store.takeTransaction(transaction.id);
    const response = redirect(
      redirectWith(transaction.redirectUri, {
        error,
        error_description: description,
        state: transaction.state,
        iss,
      }),
    );
    response.headers['set-cookie'] = cookieFor(ctx, transaction.id, '', 0);
    return response;
  };

  const idp = ctx.loaded.idpsById.get(transaction.idpId);
  if (request.query.has('error') || !idp?.login) {
    // The IdP refused or the person cancelled; its own description is not passed on.
    return backToClient('access_denied', 'The sign-in at the identity provider did not complete.');
  }
  let subject: string;
  try {
    const client = await services.idps.loginClient(idp);
    ({ subject } = await client.finish(
      `${iss}${AUTHORIZATION_PATHS.callback}?${request.rawQuery}`,
      transaction.login,
    ));
  } catch (error) {
    services.logger.warn(
      { event: 'login_failed', idp: idp.id, reason: describeLoginError(error) },
      'the sign-in at the IdP could not be completed',
    );
    return backToClient(
      'access_denied',
      'The sign-in at the identity provider could not be completed.',
    );
  }
  const remaining = Math.ceil((transaction.expiresAt - ctx.now.getTime()) / 1000);
  await services.store.saveTransaction({ ...transaction, subject }, Math.max(1, remaining));
  return redirect(consentUrl(ctx, transaction.id));
}

async function showConsent(
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
): Promise<AuthorizeResponse> {
  const found = await boundTransaction(request, ctx, request.query.get('transaction'));
  if ('response' in found) return found.response;
  const { transaction } = found;
  const credential = ctx.loaded.credentialsByClientId.get(transaction.clientId);
  if (transaction.subject === undefined || !credential) {
    return failure(
      request,
      400,
      'invalid_request',
      'This sign-in is not waiting for a consent decision. Start again from the application.',
    );
  }
  const issuerPath = new URL(apiIssuer(ctx.api, ctx.publicUrl)).pathname;
  return consentPage({
    apiName: ctx.api.displayName,
    clientName: credential.name,
    subject: transaction.subject,
    scopes: transaction.scopes,
    action: `${issuerPath}${AUTHORIZATION_PATHS.consent}`,
    transactionId: transaction.id,
    csrfToken: transaction.csrfToken,
    redirectUri: transaction.redirectUri,
  });
}

async function decide(
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
): Promise<AuthorizeResponse> {
  const { services, api } = ctx;
  if (!isForm(request.headers['content-type'])) {
    return failure(
      request,
      400,
      'invalid_request',
      'The consent decision must be a form submission.',
    );
  }
  // Defence in depth next to the SameSite cookie and the CSRF token: browsers send Origin on
  // every POST; a foreign one is a cross-site submission.
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== new URL(ctx.publicUrl).origin) {
    return failure(
      request,
      403,
      'access_denied',
      'The consent decision must come from the consent page.',
    );
  }
  const form = new URLSearchParams(request.body);
  const found = await boundTransaction(request, ctx, form.get('transaction'));
  if ('response' in found) return found.response;
  const { transaction } = found;
  if (
    transaction.subject === undefined ||
    !tokensEqual(form.get('csrf_token'), transaction.csrfToken)
  ) {
    return failure(
      request,
      403,
      'access_denied',
      'The consent decision must come from the consent page.',
    );
  }
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'deny') {
    return failure(request, 400, 'invalid_request', 'decision must be approve or deny.');
  }
  // Taken, not read: one decision per transaction, even across replicas.
  if (!(await services.store.takeTransaction(transaction.id))) {
    return failure(
      request,
      400,
      'invalid_request',
      'This sign-in is already finished. Start again from the application.',
    );
  }
  const iss = apiIssuer(api, ctx.publicUrl);
  const finish = (params: Record<string, string | undefined>) => {
    const response = redirect(
      redirectWith(transaction.redirectUri, { ...params, state: transaction.state, iss }),
      303,
    );
    response.headers['set-cookie'] = cookieFor(ctx, transaction.id, '', 0);
    return response;
  };
  if (decision === 'deny') {
    return finish({ error: 'access_denied', error_description: 'The user denied the request.' });
  }

  // The snapshot may have changed since the request: the client must still qualify.
  const credential = ctx.loaded.credentialsByClientId.get(transaction.clientId);
  const grant = credential && ctx.loaded.grantOf(credential, api.id);
  if (!credential?.authorizationCode?.redirectUris.includes(transaction.redirectUri)) {
    return failure(
      request,
      400,
      'invalid_request',
      'The client or its redirect URI is no longer registered.',
    );
  }
  if (credential.suspended || !grant) {
    return finish({
      error: 'unauthorized_client',
      error_description: 'The client may no longer use this API.',
    });
  }
  const granted = new Set(grant.scopes);
  const code = randomBytes(32).toString('base64url');
  try {
    await services.store.saveCode(
      sha256Hex(code),
      {
        apiId: api.id,
        clientId: transaction.clientId,
        redirectUri: transaction.redirectUri,
        codeChallenge: transaction.codeChallenge,
        scopes: transaction.scopes.filter((s) => granted.has(s)),
        subject: transaction.subject,
        idpId: transaction.idpId,
        expiresAt: ctx.now.getTime() + CODE_TTL_SECONDS * 1000,
      },
      CODE_TTL_SECONDS + 5,
    );
  } catch (error) {
    services.logger.error(
      { event: 'authorization_store_failed', err: error },
      'cannot store the code',
    );
    return finish({
      error: 'temporarily_unavailable',
      error_description: 'The authorization server cannot issue a code now; try again later.',
    });
  }
  return finish({ code });
}

/**
 * The transaction named by `id`, if it exists, belongs to this Api, has not expired and was
 * started by this browser; otherwise the page to show.
 */
async function boundTransaction(
  request: AuthorizeRequest,
  ctx: AuthorizeContext,
  id: string | null,
): Promise<{ transaction: AuthorizationTransaction } | { response: AuthorizeResponse }> {
  const unknown = {
    response: failure(
      request,
      400,
      'invalid_request',
      'This sign-in is unknown or has expired. Start again from the application.',
    ),
  };
  if (id === null || !TRANSACTION_ID.test(id)) return unknown;
  const transaction = await ctx.services.store.loadTransaction(id);
  if (
    !transaction ||
    transaction.apiId !== ctx.api.id ||
    transaction.expiresAt <= ctx.now.getTime()
  ) {
    return unknown;
  }
  const name = bindingCookieName(id, isSecure(ctx));
  if (!presentsBinding(request.headers.cookie, name, transaction.browserBinding)) {
    return {
      response: failure(
        request,
        400,
        'invalid_request',
        'This sign-in was started in another browser, or its cookie was blocked. Start again from the application.',
      ),
    };
  }
  return { transaction };
}

function consentUrl(ctx: AuthorizeContext, transactionId: string): string {
  return `${apiIssuer(ctx.api, ctx.publicUrl)}${AUTHORIZATION_PATHS.consent}?transaction=${transactionId}`;
}

function cookieFor(
  ctx: AuthorizeContext,
  transactionId: string,
  value: string,
  maxAgeSeconds: number,
): string {
  const secure = isSecure(ctx);
  return bindingCookie(bindingCookieName(transactionId, secure), value, {
    path: `${new URL(apiIssuer(ctx.api, ctx.publicUrl)).pathname}${AUTHORIZATION_PATHS.authorize}`,
    secure,
    maxAgeSeconds,
  });
}

function isSecure(ctx: AuthorizeContext): boolean {
  return ctx.publicUrl.startsWith('https:');
}

function redirect(location: string, status = 302): AuthorizeResponse {
  return {
    status,
    headers: {
      location,
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'referrer-policy': 'no-referrer',
    },
    body: '',
  };
}

/** An error shown where it happened: a page for browsers, RFC 6749-shaped JSON for the rest. */
function failure(
  request: AuthorizeRequest,
  status: number,
  error: string,
  description: string,
): AuthorizeResponse {
  if (acceptsHtml(request.headers.accept)) return errorPage(status, error, description);
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      pragma: 'no-cache',
    },
    body: JSON.stringify({ error, error_description: description }),
  };
}

function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/html\b/i.test(accept);
}

function isForm(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  try {
    return new MIMEType(contentType).essence === 'application/x-www-form-urlencoded';
  } catch {
    return false;
  }
}

function tokensEqual(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The error's class and OAuth code, never a token or a response body. */
function describeLoginError(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code =
    (error as { code?: unknown; error?: unknown }).error ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.name}: ${code}` : `${error.name}: ${error.message}`;
}
