/**
 * The authorization code flow and IdP tokens with the real standalone gateway process, configured
 * the way a user configures it: YAML files (Api, Subscription with `authorizationCode`,
 * IdpAssociation with `login`) in a config dir. The IdP is a real OpenID Provider, the user a
 * real headless Chromium. The gateway is a confidential client of the IdP, its login secret
 * read from a Secret file of the config dir: nothing but the files configures it.
 */

import { decodeJwt } from 'jose';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../../support/browser.ts';
import { type GatewayProcess, startGatewayProcess } from '../../../support/gateway-process.ts';
import {
  type EchoBackend,
  freePort,
  type RunningServer,
  startEchoBackend,
  startHttpServer,
} from '../../../support/http-server.ts';
import { startTestIdp, type TestIdp } from '../../../support/oidc-provider.ts';
import {
  type ConfigFixture,
  createConfigFixture,
  readCredentials,
} from '../../standalone/fixtures.ts';

const BASE = '/design-api/v1';
const LOGIN_SECRET = 'gateway-login-secret-at-the-idp';

let backend: EchoBackend;
let app: RunningServer;
let idp: TestIdp;
let fixture: ConfigFixture;
let gateway: GatewayProcess;
let browser: Browser;

function files(backendUrl: string, issuer: string, redirectUri: string): Record<string, string> {
  return {
    'design-api.yaml': `apiVersion: apiway.net/v1alpha1
kind: Api
metadata: {name: design-api, namespace: platform}
spec:
  basePath: ${BASE}
  environments: [alpha]
  backend: {url: "${backendUrl}"}
  subscribers: {namespaces: [acme]}
  openapi:
    inline: |
      openapi: 3.1.0
      info: {title: Design API, version: 1.0.0}
      components:
        securitySchemes:
          oauth2:
            type: oauth2
            flows:
              authorizationCode:
                authorizationUrl: http://127.0.0.1/design-api/v1/oauth2/v2/authorize
                tokenUrl: http://127.0.0.1/design-api/v1/oauth2/v2/token
                scopes: {read:design: Read designs, write:design: Write designs}
          corporate:
            type: openIdConnect
            openIdConnectUrl: ${issuer}/.well-known/openid-configuration
      paths:
        /designs:
          get:
            security: [{oauth2: [read:design]}]
            responses: {'200': {description: ok}}
        /reports:
          get:
            security: [{corporate: [read:design]}]
            responses: {'200': {description: ok}}
`,
    'spa.yaml': `apiVersion: apiway.net/v1alpha1
kind: Subscription
metadata: {name: acme-spa, namespace: acme}
spec:
  api: {name: design-api, namespace: platform}
  scopes: [read:design]
  credentials:
    clientCredentials: false
    apiKey: false
    authorizationCode:
      redirectUris: ["${redirectUri}"]
      public: true
`,
    'idp.yaml': `apiVersion: apiway.net/v1alpha1
kind: IdpAssociation
metadata: {name: corporate, namespace: platform}
spec:
  environment: alpha
  issuer: ${issuer}
  audiences: [api://design]
  apis: [{name: design-api}]
  login:
    clientId: apiway-gateway
    clientSecretRef: {name: corporate-login, key: client_secret}
`,
    'idp-login-secret.yaml': `apiVersion: v1
kind: Secret
metadata: {name: corporate-login, namespace: platform}
stringData: {client_secret: ${LOGIN_SECRET}}
`,
  };
}

beforeAll(async () => {
  backend = await startEchoBackend();
  app = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>back in the app</p>');
  });
  const port = await freePort();
  idp = await startTestIdp({
    audience: 'api://design',
    scopes: 'read:design',
    loginClient: {
      clientId: 'apiway-gateway',
      redirectUris: [`http://127.0.0.1:${port}${BASE}/oauth2/v2/authorize/callback`],
      secret: LOGIN_SECRET,
    },
  });
  fixture = await createConfigFixture(files(backend.url, idp.issuer, `${app.url}/callback`));
  gateway = await startGatewayProcess({
    configDir: fixture.configDir,
    stateDir: fixture.stateDir,
    port,
    args: ['--environment', 'alpha'],
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await Promise.all([backend?.close(), app?.close(), idp?.close()]);
  await fixture?.cleanup();
});

describe('the standalone gateway', () => {
  it('signs a user in at the IdpAssociation, gets consent, and issues a code the SPA redeems', async () => {
    const verifier = randomPKCECodeVerifier();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: await clientIdOf('acme/acme-spa'),
      redirect_uri: `${app.url}/callback`,
      state: 'abc',
      code_challenge: await calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const context = await browser.newContext();
    let code: string;
    try {
      const page = await context.newPage();
      await page.goto(`${gateway.url}${BASE}/oauth2/v2/authorize?${query}`);
      await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/`));
      await page.fill('input[name=login]', 'dana');
      await page.fill('input[name=password]', 'any password');
      await page.click('button[type=submit]');
      await page.waitForURL((url) =>
        url.href.startsWith(`${gateway.url}${BASE}/oauth2/v2/authorize/consent?`),
      );
      expect(await page.textContent('body')).toContain('read:design');
      await page.click('button[value=approve]');
      await page.waitForURL((url) => url.href.startsWith(`${app.url}/callback?`));
      const params = new URL(page.url()).searchParams;
      expect(params.get('state')).toBe('abc');
      expect(params.get('iss')).toBe(`${gateway.url}${BASE}`);
      code = params.get('code')!;
    } finally {
      await context.close();
    }

    const response = await fetch(`${gateway.url}${BASE}/oauth2/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.url },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${app.url}/callback`,
        client_id: await clientIdOf('acme/acme-spa'),
        code_verifier: verifier,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(app.url);
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect(decodeJwt(token)).toMatchObject({ sub: 'dana', scope: 'read:design' });
    const designs = await fetch(`${gateway.url}${BASE}/designs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(designs.status).toBe(200);
    expect(backend.requests.at(-1)?.headers['x-apiway-subscription']).toBe('acme/acme-spa');
  });

  it('accepts the IdP’s own access tokens on the openIdConnect operation', async () => {
    const token = await idp.machineToken('read:design');
    const reports = await fetch(`${gateway.url}${BASE}/reports`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(reports.status).toBe(200);
    expect(backend.requests.at(-1)?.headers['x-apiway-subscription']).toBe(
      'idp:platform/corporate:machine-client',
    );
  });
});

/** The client_id the gateway generated for a Subscription (state dir, as the banner prints it). */
async function clientIdOf(subscription: string): Promise<string> {
  return (await readCredentials(fixture.stateDir, subscription)).clientId;
}
