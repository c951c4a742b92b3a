/**
 * A real headless Chromium for tests (Debian's `chromium` package, driven by playwright-core):
 * the user of the authorization code flow. Each test takes a fresh context (no cookies shared).
 *
 * The flags keep it quiet and offline but for what the test opens: no background networking,
 * component updates, sync or QUIC; `--no-sandbox` because tests may run as root in a container.
 *
 * Also the test single-page app of the authorization code flow (`singlePageApp`), which every
 * code-flow test serves from a loopback server of its own.
 */

import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install -y chromium)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** What the test single-page app needs to know about the gateway and itself. */
export interface SinglePageAppConfig {
  /** `{publicUrl}{basePath}`: the `iss` it expects back. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The Api operation it calls with the token (GET). */
  apiUrl: string;
  clientId: string;
  redirectUri: string;
  scope: string;
}

/**
 * The test single-page app: one page for both "sign in" (`#login` computes a PKCE pair and a
 * state in the browser and goes to the authorization endpoint) and the redirect back (it checks
 * `state` and `iss`, redeems the code with `fetch` (CORS) and calls `apiUrl` with the token).
 * `#result` then holds `{tokenStatus, token, apiStatus, api}` (or `{error}`) as JSON.
 */
export function singlePageApp(config: SinglePageAppConfig): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>SPA</title></head><body>
<button id="login">Sign in</button><pre id="result"></pre>
<script type="module">
const config = ${JSON.stringify(config)};
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const show = (value) => { document.getElementById('result').textContent = JSON.stringify(value); };
const params = new URLSearchParams(location.search);
if (params.has('code') || params.has('error')) {
  if (params.get('state') !== sessionStorage.getItem('state')) show({ error: 'state mismatch' });
  else if (params.get('iss') !== config.issuer) show({ error: 'iss mismatch' });
  else if (params.has('error')) show({ error: params.get('error') });
  else {
    const tokenResponse = await fetch(config.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: params.get('code'),
        redirect_uri: config.redirectUri,
        client_id: config.clientId,
        code_verifier: sessionStorage.getItem('verifier'),
      }),
    });
    const token = await tokenResponse.json();
    const api = await fetch(config.apiUrl, { headers: { authorization: 'Bearer ' + token.access_token } });
    show({ tokenStatus: tokenResponse.status, token, apiStatus: api.status, api: await api.json() });
  }
} else {
  document.getElementById('login').onclick = async () => {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
    const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem('verifier', verifier);
    sessionStorage.setItem('state', state);
    location.href = config.authorizationEndpoint + '?' + new URLSearchParams({
      response_type: 'code', client_id: config.clientId, redirect_uri: config.redirectUri,
      scope: config.scope, state, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: 'S256',
    });
  };
}
</script></body></html>`;
}

/** A URL predicate for `page.waitForURL` (Playwright's globs treat `?` as a wildcard). */
export function urlStartsWith(prefix: string): (url: URL) => boolean {
  return (url) => url.href.startsWith(prefix);
}

/** Waits for the single-page app to show its outcome (after the redirect back), and returns it. */
export async function singlePageAppResult(page: Page): Promise<Record<string, unknown>> {
  await page.waitForSelector('#result:not(:empty)');
  return JSON.parse((await page.textContent('#result')) ?? '{}') as Record<string, unknown>;
}
