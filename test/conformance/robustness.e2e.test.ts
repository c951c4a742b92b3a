/**
 * Inputs a suite written from SPEC.md alone would send: resources without metadata.namespace,
 * `.yml` files with document markers, a Namespace and a `kind: List` next to them, OpenAPI 3.0
 * JSON in a ConfigMap of its own, `servers`, `$ref`s (3.1 path items too), templates inside a
 * segment, root `security: []`, a basePath conflict settled by age, and flags left at their
 * defaults (no --environment) with a public URL that ends in a slash.
 */

import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../support/http-client.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import {
  type ConfigDir,
  configDirFrom,
  type Gateway,
  mint,
  startGateway,
  tokenRequest,
} from './support.ts';

let backend: EchoBackend;
let config: ConfigDir;
let gateway: Gateway;

beforeAll(async () => {
  backend = await startEchoBackend();
  config = await configDirFrom('robust', { BACKEND: backend.url });
  gateway = await startGateway({
    configDir: config.dir,
    stateDir: await config.scratch(),
    args: ['--public-url', 'http://gw.example.test/'],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await config?.dispose();
});

async function forwarded(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const before = backend.requests.length;
  const response = await send(gateway.url, {
    path,
    headers,
    method,
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return {
    status: response.status,
    urls: backend.requests.slice(before).map((request) => request.url),
  };
}

describe('resources without metadata.namespace (.yml, document markers)', () => {
  it('serve the Api, resolve the ConfigMap, Product, Subscription and Secret in one namespace', async () => {
    expect((await forwarded('/plain/v1/things')).status).toBe(401);
    const keyed = await forwarded('/plain/v1/things', {
      'ocp-apim-subscription-key': 'plain-key-0123456789',
    });
    expect(keyed).toEqual({ status: 200, urls: ['/things'] });
  });

  it('servers play no part in matching; a path defined with a trailing slash is its own', async () => {
    expect(await forwarded('/plain/v1/things/')).toEqual({ status: 200, urls: ['/things/'] });
    expect((await forwarded('/plain/v1/some/prefix/things')).status).toBe(404);
    expect((await forwarded('/plain/v1/relative/things')).status).toBe(404);
  });

  it('scopes declared by every flow count; granted but undeclared ones are dropped', async () => {
    const result = await tokenRequest(gateway.url, '/plain/v1', {
      grant_type: 'client_credentials',
      client_id: 'plain-client',
      client_secret: 'plain-secret-0123456789',
    });
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('plain:read');
    const token = result.body.access_token as string;
    expect((await forwarded('/plain/v1/things', { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
  });

  it('a public URL ending in a slash gives issuers without a double slash', async () => {
    const token = await mint(gateway.url, '/plain/v1', 'plain-client', 'plain-secret-0123456789');
    expect(decodeJwt(token).iss).toBe('http://gw.example.test/plain/v1');
    const metadata = (await (
      await fetch(`${gateway.url}/.well-known/oauth-authorization-server/plain/v1`)
    ).json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe('http://gw.example.test/plain/v1');
    expect(metadata.token_endpoint).toBe('http://gw.example.test/plain/v1/oauth2/v2/token');
    expect(metadata.jwks_uri).toBe('http://gw.example.test/.well-known/jwks');
  });
});

describe('unusual but valid OpenAPI', () => {
  it('a 3.1 path item $ref, with root security: [] (public)', async () => {
    expect(await forwarded('/weird/v1/health')).toEqual({ status: 200, urls: ['/prefix/health'] });
  });

  it('a template inside a segment, $ref parameters and responses', async () => {
    expect(await forwarded('/weird/v1/reports/2024-05')).toEqual({
      status: 200,
      urls: ['/prefix/reports/2024-05'],
    });
  });

  it('three path parameters', async () => {
    expect(await forwarded('/weird/v1/orgs/o/teams/t/members/m%20x')).toEqual({
      status: 200,
      urls: ['/prefix/orgs/o/teams/t/members/m%20x'],
    });
  });

  it('an operation security under a public root, with a $ref request body', async () => {
    expect((await forwarded('/weird/v1/secured', {}, 'POST')).status).toBe(401);
    expect(
      (await forwarded('/weird/v1/secured', { 'x-api-key': 'weird-key-0123456789' }, 'POST'))
        .status,
    ).toBe(200);
  });

  it('an Api without tokens settings mints ES256 tokens', async () => {
    const result = await tokenRequest(gateway.url, '/weird/v1', {
      grant_type: 'client_credentials',
      client_id: 'weird-client',
      client_secret: 'weird-secret-0123456789',
    });
    expect(result.status).toBe(200);
    expect(decodeProtectedHeader(result.body.access_token as string).alg).toBe('ES256');
    expect(result.body.expires_in).toBeGreaterThan(0);
  });
});

describe('the directory as a whole', () => {
  it('with no --environment the gateway serves environment alpha', async () => {
    expect((await forwarded('/weird/v1/health')).status).toBe(200);
  });

  it('a basePath conflict: the oldest Api keeps it; another environment does not conflict', async () => {
    expect(await forwarded('/shared/v1/who')).toEqual({ status: 200, urls: ['/older/who'] });
  });

  it('nested basePaths: the longest one owns its subtree', async () => {
    expect(await forwarded('/plain/other')).toEqual({ status: 200, urls: ['/nested/other'] });
    expect(await forwarded('/plain/v1/things/')).toEqual({ status: 200, urls: ['/things/'] });
  });

  it('both signing algorithms are published even when no Api uses RS256', async () => {
    const { keys } = (await (await fetch(`${gateway.url}/.well-known/jwks`)).json()) as {
      keys: Array<{ alg?: string }>;
    };
    expect(keys.map((key) => key.alg)).toEqual(expect.arrayContaining(['ES256', 'RS256']));
  });

  it('items of a kind: List are read like documents', async () => {
    expect(await forwarded('/listed/v1/ok')).toEqual({ status: 200, urls: ['/ok'] });
  });
});

describe('another environment from the same directory', () => {
  it('--environment beta serves the beta and multi-environment Apis only', async () => {
    const beta = await startGateway({
      configDir: config.dir,
      stateDir: await config.scratch(),
      args: ['--environment', 'beta'],
    });
    try {
      const get = async (path: string) => {
        const before = backend.requests.length;
        const response = await send(beta.url, { path });
        return {
          status: response.status,
          urls: backend.requests.slice(before).map((request) => request.url),
        };
      };
      expect(await get('/shared/v1/who')).toEqual({ status: 200, urls: ['/beta/who'] });
      expect(await get('/weird/v1/health')).toEqual({ status: 200, urls: ['/prefix/health'] });
      expect((await get('/plain/v1/things/')).status).toBe(200);
      expect((await get('/listed/v1/ok')).status).toBe(404);
      expect((await get('/plain/other')).status).toBe(404);
    } finally {
      await beta.stop();
    }
  });
});
