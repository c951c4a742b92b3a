/**
 * SPEC.md's security rules end to end: an OpenAPI document in a config dir, compiled and served
 * by the real gateway process in front of a real backend. OpenAPI semantics (OR, AND, `[]`,
 * `{}`, root vs operation, secure by default, concrete vs templated paths, 404/405, HEAD), the
 * token endpoint's error answers, and forged or stale tokens.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { send, type TestResponse } from '../../support/http-client.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import {
  type ConfigFixture,
  call,
  createConfigFixture,
  mintToken,
  type PlainCredentials,
  readCredentials,
  requestToken,
  subscriptionYaml,
} from './fixtures.ts';

const BASE = '/sec/v1';
const PLAIN = '/plain/v1';

function apiYaml(name: string, basePath: string, backendUrl: string, openapi: string): string {
  const indented = openapi
    .split('\n')
    .map((line) => (line === '' ? '' : `      ${line}`))
    .join('\n');
  return `apiVersion: apiway.net/v1alpha1
kind: Api
metadata: {name: ${name}, namespace: acme}
spec:
  basePath: ${basePath}
  environments: [alpha]
  backend: {url: "${backendUrl}"}
  openapi:
    inline: |
${indented}
`;
}

const SECURED = `openapi: 3.1.0
info: {title: sec, version: 1.0.0}
components:
  securitySchemes:
    oauth2:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: http://127.0.0.1/sec/v1/oauth2/v2/token
          scopes: {read: Read, write: Write}
    apiKey: {type: apiKey, in: header, name: x-api-key}
security:
  - oauth2: [read]
paths:
  /public:
    get: {security: [], responses: {'200': {description: ok}}}
  /optional:
    get:
      security: [{}, {oauth2: [read]}]
      responses: {'200': {description: ok}}
  /either:
    get:
      security: [{oauth2: [write]}, {apiKey: []}]
      responses: {'200': {description: ok}}
  /both:
    get:
      security: [{oauth2: [read], apiKey: []}]
      responses: {'200': {description: ok}}
  /items/{id}:
    get: {responses: {'200': {description: ok}}}
    delete:
      security: [{oauth2: [write]}]
      responses: {'204': {description: gone}}
  /items/special:
    get: {security: [], responses: {'200': {description: ok}}}
`;

/** No security anywhere: every operation needs a credential of this Api (secure by default). */
const UNSECURED = `openapi: 3.0.3
info: {title: plain, version: 1.0.0}
paths:
  /things:
    get: {responses: {'200': {description: ok}}}
`;

let backend: EchoBackend;
let fixture: ConfigFixture;
let gateway: GatewayProcess;
let reader: PlainCredentials;
let writer: PlainCredentials;
let readToken: string;
let writeToken: string;

beforeAll(async () => {
  backend = await startEchoBackend();
  fixture = await createConfigFixture({
    'sec.yaml': apiYaml('sec', BASE, backend.url, SECURED),
    'plain.yaml': apiYaml('plain', PLAIN, backend.url, UNSECURED),
    'reader.yaml': subscriptionYaml('reader', 'api: {name: sec}', ['read']),
    'writer.yaml': subscriptionYaml('writer', 'api: {name: sec}', ['read', 'write']),
    'plain-user.yaml': subscriptionYaml('plain-user', 'api: {name: plain}', []).replace(
      '  scopes: []\n',
      '',
    ),
  });
  gateway = await startGatewayProcess({ configDir: fixture.configDir, stateDir: fixture.stateDir });
  reader = await readCredentials(fixture.stateDir, 'acme/reader');
  writer = await readCredentials(fixture.stateDir, 'acme/writer');
  readToken = await mintToken(gateway.url, BASE, reader);
  writeToken = await mintToken(gateway.url, BASE, writer, 'write');
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await fixture?.cleanup();
});

const get = (path: string, auth: { token?: string; apiKey?: string } = {}) =>
  call(gateway.url, `${BASE}${path}`, auth);

function expectInvalidToken(response: TestResponse): void {
  expect(response.status).toBe(401);
  expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
}

describe('OpenAPI security semantics', () => {
  it('security: [] is public, and no credential is needed', async () => {
    expect((await get('/public')).status).toBe(200);
  });

  it('{} among the alternatives makes authentication optional, but a bad token is still 401', async () => {
    expect((await get('/optional')).status).toBe(200);
    expect((await get('/optional', { token: readToken })).status).toBe(200);
    expect(backend.requests.at(-1)?.headers['x-apiway-client-id']).toBe(reader.clientId);
    expectInvalidToken(await get('/optional', { token: `${readToken}x` }));
  });

  it('alternatives are OR: the scoped token or the API key, either one', async () => {
    expect((await get('/either', { token: writeToken })).status).toBe(200);
    expect((await get('/either', { apiKey: reader.apiKey })).status).toBe(200);
    const lacking = await get('/either', { token: readToken });
    expect(lacking.status).toBe(403);
    expect(lacking.json()).toMatchObject({ error: 'insufficient_scope' });
    expectInvalidToken(await get('/either'));
  });

  it('schemes of one requirement are AND: the token and the API key, both', async () => {
    expect((await get('/both', { token: readToken, apiKey: reader.apiKey })).status).toBe(200);
    expectInvalidToken(await get('/both', { token: readToken }));
    expectInvalidToken(await get('/both', { apiKey: reader.apiKey }));
  });

  it('an operation without security gets the root one; an operation that has one replaces it', async () => {
    expect((await get('/items/1', { token: readToken })).status).toBe(200);
    expectInvalidToken(await get('/items/1', { apiKey: reader.apiKey }));
    const write = await send(gateway.url, {
      method: 'DELETE',
      path: `${BASE}/items/1`,
      headers: { authorization: `Bearer ${readToken}` },
    });
    expect(write.status).toBe(403);
    expect(write.json()).toMatchObject({ error: 'insufficient_scope', scope: 'write' });
  });

  it('a concrete path wins over a template, whatever their order in the document', async () => {
    expect((await get('/items/special')).status).toBe(200);
    expectInvalidToken(await get('/items/other'));
  });

  it('an Api whose document declares no security requires a credential of that Api (secure by default)', async () => {
    const plainUser = await readCredentials(fixture.stateDir, 'acme/plain-user');
    expectInvalidToken(await call(gateway.url, `${PLAIN}/things`));
    expect((await call(gateway.url, `${PLAIN}/things`, { apiKey: plainUser.apiKey })).status).toBe(
      200,
    );
    const token = await mintToken(gateway.url, PLAIN, plainUser);
    expect((await call(gateway.url, `${PLAIN}/things`, { token })).status).toBe(200);
    // A credential of another Api is not one of this Api.
    expectInvalidToken(await call(gateway.url, `${PLAIN}/things`, { apiKey: reader.apiKey }));
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method, without reaching the backend', async () => {
    const seen = backend.requests.length;
    expect((await get('/nowhere', { token: readToken })).status).toBe(404);
    const wrong = await send(gateway.url, { method: 'PUT', path: `${BASE}/items/1` });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('DELETE, GET, HEAD');
    expect(backend.requests.length).toBe(seen);
  });

  it('serves HEAD where GET is declared, with the same security', async () => {
    const head = await send(gateway.url, {
      method: 'HEAD',
      path: `${BASE}/items/1`,
      headers: { authorization: `Bearer ${readToken}` },
    });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await send(gateway.url, { method: 'HEAD', path: `${BASE}/items/1` })).status).toBe(401);
  });
});

describe('the token endpoint', () => {
  const post = (body: string, headers: Record<string, string> = {}, query = '') =>
    send(gateway.url, {
      method: 'POST',
      path: `${BASE}/oauth2/v2/token${query}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const basic = (id: string, secret: string) => ({
    authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
  });

  it('gives an unknown client and a wrong secret the same 401 invalid_client', async () => {
    const unknown = await requestToken(gateway.url, BASE, {
      clientId: 'nobody',
      clientSecret: 'x',
    });
    const wrong = await requestToken(
      gateway.url,
      BASE,
      { ...reader, clientSecret: 'wrong' },
      { via: 'body' },
    );
    for (const response of [unknown, wrong]) {
      expect(response.status).toBe(401);
      expect(response.json()).toMatchObject({ error: 'invalid_client' });
    }
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('refuses an unsupported grant type', async () => {
    const response = await post(
      'grant_type=password&username=a&password=b',
      basic(reader.clientId, reader.clientSecret),
    );
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('refuses two authentication methods, a repeated parameter, and a secret in the query', async () => {
    const both = await post(
      `grant_type=client_credentials&client_id=${reader.clientId}&client_secret=${reader.clientSecret}`,
      basic(reader.clientId, reader.clientSecret),
    );
    const repeated = await post(
      'grant_type=client_credentials&grant_type=client_credentials',
      basic(reader.clientId, reader.clientSecret),
    );
    const query = await post(
      'grant_type=client_credentials',
      {},
      `?client_id=${reader.clientId}&client_secret=${reader.clientSecret}`,
    );
    for (const response of [both, repeated, query]) {
      expect(response.status).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('answers invalid_scope for an empty intersection, and drops undeclared scopes otherwise', async () => {
    const empty = await requestToken(gateway.url, BASE, reader, { scope: 'write admin' });
    expect(empty.status).toBe(400);
    expect(empty.json()).toMatchObject({ error: 'invalid_scope' });
    const dropped = await requestToken(gateway.url, BASE, reader, { scope: 'read admin' });
    expect(dropped.json()).toMatchObject({ scope: 'read' });
  });
});

describe('forged and stale tokens', () => {
  const issuer = () => `${gateway.url}${BASE}`;
  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: issuer(),
    aud: issuer(),
    sub: reader.clientId,
    client_id: reader.clientId,
    scope: 'read',
    jti: crypto.randomUUID(),
    ...overrides,
  });

  async function stateKey(alg: 'ES256' | 'RS256'): Promise<{ kid: string; jwk: JWK }> {
    const state = JSON.parse(
      await readFile(join(fixture.stateDir, 'signing-keys.json'), 'utf8'),
    ) as {
      keys: Array<{ kid: string; alg: string; state: string; privateJwk: JWK }>;
    };
    const key = state.keys.find((k) => k.alg === alg && k.state === 'active')!;
    return { kid: key.kid, jwk: key.privateJwk };
  }

  async function signWithGatewayKey(
    payload: Record<string, unknown>,
    expiresIn: string | number,
  ): Promise<string> {
    const { kid, jwk } = await stateKey('ES256');
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(expiresIn)
      .sign(await importJWK(jwk, 'ES256'));
  }

  it('accepts a token signed with its own key and the right claims (the control case)', async () => {
    const token = await signWithGatewayKey(claims(), '1h');
    expect((await get('/items/1', { token })).status).toBe(200);
  });

  it('refuses alg none', async () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode({ ...claims(), iat: now, exp: now + 600 })}.`;
    expectInvalidToken(await get('/items/1', { token }));
  });

  it('refuses HS256 signed with the public key', async () => {
    const jwks = (await (await fetch(`${gateway.url}/.well-known/jwks`)).json()) as { keys: JWK[] };
    const publicKey = jwks.keys.find((k) => k.alg === 'ES256')!;
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: publicKey.kid!, typ: 'at+jwt' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JSON.stringify(publicKey)));
    expectInvalidToken(await get('/items/1', { token }));
  });

  it('refuses an unknown kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: 'not-a-gateway-key', typ: 'at+jwt' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    expectInvalidToken(await get('/items/1', { token }));
  });

  it('refuses an expired token', async () => {
    const token = await signWithGatewayKey(claims(), Math.floor(Date.now() / 1000) - 3600);
    expectInvalidToken(await get('/items/1', { token }));
  });

  it('refuses a wrong issuer, even signed with its own key', async () => {
    const token = await signWithGatewayKey(claims({ iss: 'https://evil.example/sec/v1' }), '1h');
    expectInvalidToken(await get('/items/1', { token }));
  });

  it('refuses a tampered token', async () => {
    const [header, payload, signature] = readToken.split('.') as [string, string, string];
    const changed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    changed.scope = 'read write';
    const token = `${header}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
    expectInvalidToken(await get('/items/1', { token }));
  });
});
