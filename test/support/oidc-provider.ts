/**
 * A real OpenID Provider for tests: `oidc-provider` (the OpenID-certified Node implementation)
 * in-process on a loopback port, playing an IdpAssociation's IdP:
 * - the gateway's login client, registered for the gateway's callback(s);
 * - its built-in development interactions: a login form that signs in whoever types a login
 *   name (any password), and no consent screen of its own for the login client (an existing
 *   grant is assumed, as for a first-party client);
 * - a machine client whose client-credentials tokens are real JWT access tokens for the
 *   resource `audience`, with the scopes asked for;
 * - the JWKS it publishes is served by this helper (the provider's keys plus any added with
 *   `addSigningKey`) so tests can rotate keys, break the endpoint and count its fetches.
 *
 * `signToken` signs arbitrary claims with one of the IdP's keys (or any key), for the negative
 * cases a real IdP would never produce (wrong audience, forged kid, HS256…); `signInAtTestIdp`
 * is the user typing at its login form in a real browser.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Page } from 'playwright-core';

export const MACHINE_CLIENT = {
  clientId: 'machine-client',
  secret: 'machine-client-secret-0123456789',
};

export interface TestIdpOptions {
  /** The gateway's login client at this IdP. Absent secret: a public client (PKCE only). */
  loginClient?: { clientId: string; redirectUris: string[]; secret?: string };
  /** `aud` of the machine client's access tokens. Default `api://design`. */
  audience?: string;
  /** Scopes the machine client may ask for. Default `read write admin`. */
  scopes?: string;
}

export interface SigningKeyOfIdp {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
}

export interface TestIdp {
  /** `http://127.0.0.1:<port>`: its issuer, exactly. */
  issuer: string;
  /** The provider's own first key (RS256), which signs its ID tokens and access tokens. */
  key: SigningKeyOfIdp;
  /** Requests received per path (`/jwks`, `/.well-known/openid-configuration`, …). */
  requests(path: string): number;
  /** While true, the JWKS endpoint answers 500. */
  setJwksFailing(failing: boolean): void;
  /** Publishes one more key (after the provider's); tokens may be signed with it. */
  addSigningKey(alg?: 'RS256' | 'ES256' | 'PS256'): Promise<SigningKeyOfIdp>;
  /** Signs `claims` as this IdP would (iss, iat, exp filled in unless given). */
  signToken(
    claims: JWTPayload,
    options?: { key?: SigningKeyOfIdp; header?: Record<string, unknown> },
  ): Promise<string>;
  /** A real client-credentials access token (JWT) of the provider, for `audience`. */
  machineToken(scope?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIdp(options: TestIdpOptions = {}): Promise<TestIdp> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const audience = options.audience ?? 'api://design';
  const scopes = options.scopes ?? 'read write admin';

  const first = await newKey('RS256', 'idp-key-1');
  const published: Array<{ key: SigningKeyOfIdp; publicJwk: JWK }> = [first];
  const counts = new Map<string, number>();
  let jwksFailing = false;

  const clients: NonNullable<Configuration['clients']> = [
    {
      client_id: MACHINE_CLIENT.clientId,
      client_secret: MACHINE_CLIENT.secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ];
  if (options.loginClient) {
    const { clientId, redirectUris, secret } = options.loginClient;
    clients.push({
      client_id: clientId,
      ...(secret === undefined
        ? { token_endpoint_auth_method: 'none' }
        : { client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' }),
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    });
  }
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [first.privateJwk] },
    cookies: { keys: ['test-idp-cookie-key-0123456789'] },
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        getResourceServerInfo: () => ({
          scope: scopes,
          audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    findAccount: async (_ctx: KoaContextWithOIDC, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub }),
    }),
    // No consent screen at the IdP: the login client asks for `openid` only.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      if (!oidc.client || !oidc.session?.accountId) return undefined;
      const grant = new oidc.provider.Grant({
        clientId: oidc.client.clientId,
        accountId: oidc.session.accountId,
      });
      grant.addOIDCScope('openid');
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    if (path === '/jwks') {
      const body = JSON.stringify({ keys: published.map((k) => k.publicJwk) });
      res.writeHead(jwksFailing ? 500 : 200, { 'content-type': 'application/json' });
      res.end(jwksFailing ? '{"error":"down"}' : body);
      return;
    }
    void handle(req, res);
  });

  return {
    issuer,
    key: first.key,
    requests: (path) => counts.get(path) ?? 0,
    setJwksFailing(failing) {
      jwksFailing = failing;
    },
    async addSigningKey(alg = 'ES256') {
      const added = await newKey(alg, `idp-key-${published.length + 1}`);
      published.push(added);
      return added.key;
    },
    async signToken(claims, signOptions = {}) {
      const key = signOptions.key ?? first.key;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...signOptions.header })
        .sign(key.privateKey);
    },
    async machineToken(scope) {
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined) form.set('scope', scope);
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${MACHINE_CLIENT.clientId}:${MACHINE_CLIENT.secret}`).toString('base64')}`,
        },
        body: form,
      });
      const body = (await response.json()) as { access_token?: string };
      if (!body.access_token) throw new Error(`IdP token request failed: ${response.status}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function newKey(
  alg: 'RS256' | 'ES256' | 'PS256',
  kid: string,
): Promise<{ key: SigningKeyOfIdp; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const { d, p, q, dp, dq, qi, ...publicJwk } = privateJwk;
  return { key: { kid, alg, privateKey }, privateJwk, publicJwk };
}

/**
 * In a browser sent to the IdP, signs `user` in at its login form (the development
 * interaction: any password); the IdP then redirects back to the gateway's callback.
 */
export async function signInAtTestIdp(
  page: Page,
  idp: Pick<TestIdp, 'issuer'>,
  user: string,
): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/`));
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'any password');
  await page.click('button[type=submit]');
}
