import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discoverIdp,
  discoveryUrl,
  issuerOfDiscoveryUrl,
} from '../../../gateway/src/idp/discovery.ts';
import { freePort, type RunningServer, startHttpServer } from '../../support/http-server.ts';

/** What the server answers at `/<case>/.well-known/openid-configuration`. */
const answers = new Map<string, (res: ServerResponse, issuer: string) => void>();
let server: RunningServer;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const [, name] = (req.url ?? '').split('/');
    const answer = answers.get(name ?? '');
    if (!answer || !req.url?.endsWith('/.well-known/openid-configuration')) {
      res.writeHead(404).end();
      return;
    }
    answer(res, `${server.url}/${name}`);
  });
});
afterAll(() => server.close());

function json(body: unknown) {
  return (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

async function failure(issuer: string): Promise<string> {
  const error = await discoverIdp(issuer, { fetch }).then(
    () => undefined,
    (e: Error) => e,
  );
  if (!error) throw new Error('discovery succeeded');
  return error.message;
}

describe('discoverIdp', () => {
  it('reads the document of the issuer and keeps what the gateway uses', async () => {
    answers.set('good', (res, issuer) =>
      json({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
      })(res),
    );
    const issuer = `${server.url}/good`;
    expect(await discoverIdp(issuer, { fetch })).toMatchObject({
      issuer,
      jwksUri: `${issuer}/jwks`,
      authorizationEndpoint: `${issuer}/auth`,
      tokenEndpoint: `${issuer}/token`,
    });
    // A trailing slash of the issuer is not doubled in the discovery URL (OIDC Discovery §4).
    expect(discoveryUrl(`${issuer}/`)).toBe(`${issuer}/.well-known/openid-configuration`);
  });

  it('refuses a document that names another issuer, even by a trailing slash', async () => {
    answers.set('other-issuer', (res, issuer) =>
      json({ issuer: `${issuer}/`, jwks_uri: `${issuer}/jwks` })(res),
    );
    expect(await failure(`${server.url}/other-issuer`)).toMatch(/names the issuer .* not /);
    answers.set('no-issuer', (res, issuer) => json({ jwks_uri: `${issuer}/jwks` })(res));
    expect(await failure(`${server.url}/no-issuer`)).toMatch(/has no issuer/);
  });

  it('refuses missing documents, redirects, non-JSON and jwks_uri over plain http elsewhere than loopback', async () => {
    expect(await failure(`${server.url}/missing`)).toMatch(/HTTP 404/);
    answers.set('redirect', (res) =>
      res.writeHead(302, { location: `${server.url}/good/.well-known/openid-configuration` }).end(),
    );
    expect(await failure(`${server.url}/redirect`)).toMatch(/HTTP 302/);
    answers.set('html', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'));
    expect(await failure(`${server.url}/html`)).toMatch(/not a JSON object/);
    answers.set('array', json([]));
    expect(await failure(`${server.url}/array`)).toMatch(/not a JSON object/);
    answers.set('http-jwks', (res, issuer) =>
      json({ issuer, jwks_uri: 'http://keys.example/jwks' })(res),
    );
    expect(await failure(`${server.url}/http-jwks`)).toMatch(/no https jwks_uri/);
  });

  it('refuses an issuer over plain http elsewhere than loopback, without fetching', async () => {
    let fetched = false;
    const spyFetch: typeof fetch = async (...args) => {
      fetched = true;
      return fetch(...args);
    };
    await expect(discoverIdp('http://login.example/', { fetch: spyFetch })).rejects.toThrow(
      /https/,
    );
    expect(fetched).toBe(false);
  });

  it('reports an unreachable IdP by its error code', async () => {
    expect(await failure(`http://127.0.0.1:${await freePort()}/nothing`)).toMatch(
      /could not be fetched: ECONNREFUSED/,
    );
  });
});

describe('issuerOfDiscoveryUrl', () => {
  it('is the issuer of an OpenID Connect discovery URL, without trailing slash', () => {
    expect(
      issuerOfDiscoveryUrl(
        'https://acme.b2clogin.com/tenant/v2.0/.well-known/openid-configuration',
      ),
    ).toBe('https://acme.b2clogin.com/tenant/v2.0');
    expect(issuerOfDiscoveryUrl('https://login.example/.well-known/openid-configuration')).toBe(
      'https://login.example',
    );
    expect(
      issuerOfDiscoveryUrl('https://login.example/.well-known/oauth-authorization-server'),
    ).toBeUndefined();
  });
});
