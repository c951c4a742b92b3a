/**
 * The authorization code flow end to end, in-process gateway: a real IdP (oidc-provider) signs
 * the user in, a real headless Chromium is the user, a tiny single-page app (served here) is the
 * client. The SPA computes its PKCE pair in the browser, sends the user to the authorization
 * endpoint, gets the code back, redeems it with `fetch` (CORS) and calls an Api operation that
 * needs the consented scope. Then the ways it must fail.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Snapshot, SnapshotCredential } from '../../../../gateway/src/snapshot/schema.ts';
import {
  launchBrowser,
  singlePageApp,
  singlePageAppResult,
  urlStartsWith,
} from '../../../support/browser.ts';
import { type RunningGateway, startGateway, testSigningKeys } from '../../../support/gateway.ts';
import { type RunningServer, startHttpServer } from '../../../support/http-server.ts';
import { signInAtTestIdp, startTestIdp, type TestIdp } from '../../../support/oidc-provider.ts';
import {
  apiFixture,
  credentialFixture,
  DEFAULT_SCHEMES,
  operation,
  path,
  snapshotFixture,
} from '../../../support/snapshot-fixtures.ts';

const BASE = '/design-api/v1';
const OTHER_BASE = '/other-api/v1';
const IDP_ID = 'platform/test-idp';
const LOGIN_CLIENT = { clientId: 'apiway-gateway', secret: 'gateway-login-secret-0123456789' };
const WEBAPP_SECRET = 'webapp-secret-0123456789abcdef';

let backend: RunningServer;
const backendRequests: IncomingMessage[] = [];
let spa: RunningServer;
let idp: TestIdp;
let gw: RunningGateway;
let browser: Browser;
/** Added to the gateway's clock (expiry tests). */
let clockOffsetMs = 0;

function credentials(): SnapshotCredential[] {
  return [
    {
      ...credentialFixture({
        name: 'spa',
        grants: {
          'platform/design': { scopes: ['read', 'write'] },
          'platform/other': { scopes: ['read'] },
        },
        clientCredentials: false,
        apiKey: false,
      }),
      authorizationCode: {
        redirectUris: [`${spa.url}/callback`, `${spa.url}/plain-callback`],
        public: true,
      },
    },
    {
      ...credentialFixture({
        name: 'webapp',
        clientSecret: WEBAPP_SECRET,
        grants: { 'platform/design': { scopes: ['read'] } },
        apiKey: false,
      }),
      authorizationCode: { redirectUris: [`${spa.url}/plain-callback`], public: false },
    },
  ];
}

function environment(): Snapshot {
  const secured = {
    GET: operation([[['oauth', 'read']]]),
    // The browser's CORS preflight reaches the backend, which answers it (public operation).
    OPTIONS: operation([]),
  };
  const design = apiFixture({
    name: 'design',
    displayName: 'Design API',
    basePath: BASE,
    backendUrl: backend.url,
    idps: [IDP_ID],
    securitySchemes: DEFAULT_SCHEMES,
    paths: [
      path('/designs/{id}', secured),
      path('/admin', { GET: operation([[['oauth', 'admin']]]) }),
    ],
  });
  const other = apiFixture({
    name: 'other',
    basePath: OTHER_BASE,
    backendUrl: backend.url,
    paths: [path('/designs/{id}', secured)],
  });
  return {
    ...snapshotFixture({ apis: [design, other], credentials: credentials() }),
    idps: [
      {
        id: IDP_ID,
        issuer: idp.issuer,
        audiences: ['api://design'],
        apis: ['platform/design'],
        scopeClaim: 'scope',
        login: {
          clientId: LOGIN_CLIENT.clientId,
          clientSecretRef: { namespace: 'platform', name: 'idp-login', key: 'client_secret' },
        },
      },
    ],
  };
}

beforeAll(async () => {
  backend = await startHttpServer((req: IncomingMessage, res: ServerResponse) => {
    backendRequests.push(req);
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'authorization',
      'access-control-allow-methods': 'GET',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    res.writeHead(200, { ...cors, 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, scopes: req.headers['x-apiway-scopes'] }));
  });
  spa = await startHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', spa.url);
    if (url.pathname === '/app' || url.pathname === '/callback') {
      const issuer = `${gw.url}${BASE}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        singlePageApp({
          issuer,
          authorizationEndpoint: `${issuer}/oauth2/v2/authorize`,
          tokenEndpoint: `${issuer}/oauth2/v2/token`,
          apiUrl: `${issuer}/designs/42`,
          clientId: 'client-spa',
          redirectUri: `${spa.url}/callback`,
          scope: 'read',
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>back</p>');
  });
  gw = await startGateway({ now: () => new Date(Date.now() + clockOffsetMs) });
  idp = await startTestIdp({
    loginClient: {
      clientId: LOGIN_CLIENT.clientId,
      secret: LOGIN_CLIENT.secret,
      redirectUris: [
        `${gw.url}${BASE}/oauth2/v2/authorize/callback`,
        `${gw.url}${OTHER_BASE}/oauth2/v2/authorize/callback`,
      ],
    },
  });
  await gw.gateway.update(
    environment(),
    await testSigningKeys(),
    new Map([[IDP_ID, LOGIN_CLIENT.secret]]),
  );
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([gw?.close(), idp?.close(), spa?.close(), backend?.close()]);
});

/** Signs in at the IdP's login form (its development interaction: any password). */
function signInAtIdp(page: Page, user: string): Promise<void> {
  return signInAtTestIdp(page, idp, user);
}

interface CodeRequest {
  base?: string;
  clientId?: string;
  redirectUri?: string;
  verifier?: string;
  scope?: string;
  user?: string;
  decision?: 'approve' | 'deny';
}

/**
 * Drives a fresh browser through authorize → IdP sign-in → consent, and returns the query the
 * browser was redirected back with (to a static page, so nothing redeems the code meanwhile).
 */
async function authorizeInBrowser(request: CodeRequest = {}): Promise<{
  params: URLSearchParams;
  verifier: string;
}> {
  const base = request.base ?? BASE;
  const verifier = request.verifier ?? randomPKCECodeVerifier();
  const redirectUri = request.redirectUri ?? `${spa.url}/plain-callback`;
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId ?? 'client-spa',
    redirect_uri: redirectUri,
    state: 'state-123',
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  if (request.scope !== undefined) query.set('scope', request.scope);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${gw.url}${base}/oauth2/v2/authorize?${query}`);
    await signInAtIdp(page, request.user ?? 'alice');
    await page.waitForURL(urlStartsWith(`${gw.url}${base}/oauth2/v2/authorize/consent?`));
    await page.click(`button[value=${request.decision ?? 'approve'}]`);
    await page.waitForURL(urlStartsWith(`${redirectUri}?`));
    return { params: new URL(page.url()).searchParams, verifier };
  } finally {
    await context.close();
  }
}

async function redeem(
  form: Record<string, string>,
  options: { base?: string; basic?: { clientId: string; secret: string }; origin?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (options.basic) {
    headers.authorization = `Basic ${Buffer.from(`${options.basic.clientId}:${options.basic.secret}`).toString('base64')}`;
  }
  if (options.origin) headers.origin = options.origin;
  const response = await fetch(`${gw.url}${options.base ?? BASE}/oauth2/v2/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ grant_type: 'authorization_code', ...form }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

function publicRedemption(code: string, verifier: string, extra: Record<string, string> = {}) {
  return {
    code,
    verifier,
    form: {
      code,
      code_verifier: verifier,
      client_id: 'client-spa',
      redirect_uri: `${spa.url}/plain-callback`,
      ...extra,
    },
  };
}

function callApi(token: string, base = BASE): Promise<Response> {
  return fetch(`${gw.url}${base}/designs/1`, { headers: { authorization: `Bearer ${token}` } });
}

describe('a single-page app in a real browser', () => {
  it('signs the user in, gets consent, redeems the code with CORS and calls the Api', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${spa.url}/app`);
      const consentResponse = page.waitForResponse((r) =>
        r.url().includes('/oauth2/v2/authorize/consent?'),
      );
      await page.click('#login');
      await signInAtIdp(page, 'alice');
      const consent = await consentResponse;
      // The consent page cannot be framed (clickjacking) nor cached.
      const headers = consent.headers();
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['cache-control']).toBe('no-store');
      const text = await page.textContent('body');
      expect(text).toContain('Design API');
      expect(text).toContain('read');
      expect(text).not.toContain('write');
      expect(text).toContain('alice');

      await page.click('button[value=approve]');
      await page.waitForURL(urlStartsWith(`${spa.url}/callback?`));
      const result = (await singlePageAppResult(page)) as { token: { access_token: string } };
      expect(result).toMatchObject({
        tokenStatus: 200,
        token: { token_type: 'Bearer', scope: 'read' },
        apiStatus: 200,
        api: { path: '/designs/42', scopes: 'read' },
      });
      const claims = decodeJwt(result.token.access_token);
      expect(claims).toMatchObject({
        iss: `${gw.url}${BASE}`,
        aud: `${gw.url}${BASE}`,
        sub: 'alice',
        client_id: 'client-spa',
        scope: 'read',
      });
      const forwarded = backendRequests.at(-1)!;
      expect(forwarded.headers['x-apiway-subscription']).toBe('acme/spa');
      expect(forwarded.headers['x-apiway-client-id']).toBe('client-spa');
    } finally {
      await context.close();
    }
  });

  it('answers CORS preflights of the token endpoint for registered origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${gw.url}${BASE}/oauth2/v2/token`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight(spa.url);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(spa.url);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('POST');
    const refused = await preflight('https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const { headers } = await redeem(
      { code: 'x', client_id: 'client-spa', redirect_uri: 'y', code_verifier: 'z'.repeat(43) },
      { origin: 'https://evil.example' },
    );
    expect(headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('codes', () => {
  it('a confidential web app redeems its code with its secret and PKCE; not without the secret', async () => {
    const { params, verifier } = await authorizeInBrowser({
      clientId: 'client-webapp',
      user: 'bob',
    });
    expect(params.get('state')).toBe('state-123');
    expect(params.get('iss')).toBe(`${gw.url}${BASE}`);
    const code = params.get('code')!;
    const form = { code, code_verifier: verifier, redirect_uri: `${spa.url}/plain-callback` };
    const withoutSecret = await redeem({ ...form, client_id: 'client-webapp' });
    expect(withoutSecret.status).toBe(401);
    expect(withoutSecret.body.error).toBe('invalid_client');
    const redeemed = await redeem(form, {
      basic: { clientId: 'client-webapp', secret: WEBAPP_SECRET },
    });
    expect(redeemed.status).toBe(200);
    expect(decodeJwt(redeemed.body.access_token as string)).toMatchObject({
      sub: 'bob',
      client_id: 'client-webapp',
    });
    expect((await callApi(redeemed.body.access_token as string)).status).toBe(200);
  });

  it('a wrong verifier is invalid_grant, and spends the code', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier);
    const wrong = await redeem({ ...form, code_verifier: randomPKCECodeVerifier() });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await redeem(form)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a malformed verifier or none is invalid_request, before the code is touched', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier);
    expect(await redeem({ ...form, code_verifier: 'short' })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    const { code_verifier: _, ...withoutVerifier } = form;
    expect(await redeem(withoutVerifier)).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(await redeem(form)).toMatchObject({ status: 200 });
  });

  it('a replayed code is refused and the token minted from it stops working', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier);
    const first = await redeem(form);
    expect(first.status).toBe(200);
    const token = first.body.access_token as string;
    expect((await callApi(token)).status).toBe(200);
    const replay = await redeem(form);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const after = await callApi(token);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('revoked');
  });

  it('a code of one Api is unknown at another, and still redeemable at its own', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier);
    expect(await redeem(form, { base: OTHER_BASE })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    expect(await redeem(form)).toMatchObject({ status: 200 });
  });

  it('the other Api issues its own codes, for its own audience', async () => {
    const { params, verifier } = await authorizeInBrowser({ base: OTHER_BASE });
    expect(params.get('iss')).toBe(`${gw.url}${OTHER_BASE}`);
    const { form } = publicRedemption(params.get('code')!, verifier);
    const redeemed = await redeem(form, { base: OTHER_BASE });
    expect(redeemed.status).toBe(200);
    const token = redeemed.body.access_token as string;
    expect(decodeJwt(token).aud).toBe(`${gw.url}${OTHER_BASE}`);
    expect((await callApi(token, OTHER_BASE)).status).toBe(200);
    expect((await callApi(token)).status).toBe(401);
  });

  it('an expired code is invalid_grant', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier);
    clockOffsetMs = 61_000;
    try {
      expect(await redeem(form)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    } finally {
      clockOffsetMs = 0;
    }
  });

  it('a redirect_uri other than the authorization request’s is invalid_grant', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const { form } = publicRedemption(params.get('code')!, verifier, {
      redirect_uri: `${spa.url}/callback`,
    });
    expect(await redeem(form)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a code presented by another client is invalid_grant', async () => {
    const { params, verifier } = await authorizeInBrowser();
    const form = {
      code: params.get('code')!,
      code_verifier: verifier,
      redirect_uri: `${spa.url}/plain-callback`,
    };
    const other = await redeem(form, {
      basic: { clientId: 'client-webapp', secret: WEBAPP_SECRET },
    });
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('consents to the scopes asked for only, and the user may deny', async () => {
    const { params, verifier } = await authorizeInBrowser({ scope: 'write' });
    const redeemed = await redeem(publicRedemption(params.get('code')!, verifier).form);
    expect(redeemed.body.scope).toBe('write');
    // A token without `read` cannot call the operation that needs it.
    expect((await callApi(redeemed.body.access_token as string)).status).toBe(403);

    const denied = await authorizeInBrowser({ decision: 'deny' });
    expect(denied.params.get('error')).toBe('access_denied');
    expect(denied.params.get('state')).toBe('state-123');
    expect(denied.params.get('iss')).toBe(`${gw.url}${BASE}`);
    expect(denied.params.has('code')).toBe(false);
  });
});

describe('the authorization endpoint refuses', () => {
  async function authorize(params: Record<string, string | undefined>, accept = 'text/html') {
    const query = new URLSearchParams(
      Object.entries({
        response_type: 'code',
        client_id: 'client-spa',
        redirect_uri: `${spa.url}/plain-callback`,
        state: 's',
        code_challenge: await calculatePKCECodeChallenge(randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        ...params,
      }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    return fetch(`${gw.url}${BASE}/oauth2/v2/authorize?${query}`, {
      redirect: 'manual',
      headers: { accept },
    });
  }

  it('to redirect anywhere for an unknown client or a redirect URI near-miss: it shows the error', async () => {
    const uri = `${spa.url}/plain-callback`;
    const port = new URL(spa.url).port;
    for (const redirectUri of [
      `${uri}/`,
      `${uri}?x=1`,
      uri.replace('127.0.0.1', 'localhost'),
      uri.replace(`:${port}`, `:${Number(port) + 1}`),
      `${spa.url}/plain-callbacks`,
      `${spa.url}/PLAIN-callback`,
    ]) {
      const response = await authorize({ redirect_uri: redirectUri });
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
    const unknown = await authorize({ client_id: 'nobody' }, 'application/json');
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('a plain or missing code challenge, redirecting the error with state and iss', async () => {
    for (const params of [
      { code_challenge_method: 'plain' },
      { code_challenge_method: undefined },
      { code_challenge: undefined },
    ]) {
      const response = await authorize(params);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(`${spa.url}/plain-callback`);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('s');
      expect(location.searchParams.get('iss')).toBe(`${gw.url}${BASE}`);
    }
  });

  it('a valid request goes to the IdP with the gateway’s own state, nonce and PKCE, and a bound cookie', async () => {
    const response = await authorize({});
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get('client_id')).toBe(LOGIN_CLIENT.clientId);
    expect(location.searchParams.get('redirect_uri')).toBe(
      `${gw.url}${BASE}/oauth2/v2/authorize/callback`,
    );
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('nonce')).toBeTruthy();
    expect(location.searchParams.get('state')).not.toBe('s');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^apiway-authz-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; Path=\/design-api\/v1\/oauth2\/v2\/authorize; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
  });
});

describe('the consent decision', () => {
  it('must come from the browser that signed in, with its CSRF token, from the consent page', async () => {
    const verifier = randomPKCECodeVerifier();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'client-spa',
      redirect_uri: `${spa.url}/plain-callback`,
      code_challenge: await calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${gw.url}${BASE}/oauth2/v2/authorize?${query}`);
      await signInAtIdp(page, 'carol');
      await page.waitForURL(urlStartsWith(`${gw.url}${BASE}/oauth2/v2/authorize/consent?`));
      const transaction = await page.inputValue('input[name=transaction]');
      const csrf = await page.inputValue('input[name=csrf_token]');
      const consentUrl = `${gw.url}${BASE}/oauth2/v2/authorize/consent`;
      const cookie = (await context.cookies(consentUrl))
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      expect(cookie).toMatch(/^apiway-authz-/);
      const post = (form: Record<string, string>, headers: Record<string, string>) =>
        fetch(consentUrl, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            ...headers,
          },
          body: new URLSearchParams(form),
        });
      const approve = { transaction, csrf_token: csrf, decision: 'approve' };
      // Another browser (no cookie), a forged form (wrong token), a cross-site submission.
      expect((await post(approve, {})).status).toBe(400);
      expect((await post({ ...approve, csrf_token: 'x'.repeat(43) }, { cookie })).status).toBe(403);
      expect((await post(approve, { cookie, origin: 'https://evil.example' })).status).toBe(403);
      // None of them used the transaction up: the real user still decides.
      await page.click('button[value=approve]');
      await page.waitForURL(urlStartsWith(`${spa.url}/plain-callback?`));
      const code = new URL(page.url()).searchParams.get('code')!;
      expect(await redeem(publicRedemption(code, verifier).form)).toMatchObject({ status: 200 });
      // And the transaction is over: its decision cannot be replayed.
      const replayed = await post(approve, { cookie });
      expect(replayed.status).toBe(400);
    } finally {
      await context.close();
    }
  });
});
