/**
 * SPEC.md "Gateway HTTP surface": the token endpoint `POST {basePath}/oauth2/v2/token` (client
 * credentials, every error of "Decisions where the RFCs leave a choice"), the scope of a minted
 * token, the claims of the access token, `/.well-known/jwks` and the RFC 8414 metadata, all seen
 * from outside with an HTTP client against fixtures written from SPEC.md's examples.
 */

import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  jwtVerify,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import {
  basic,
  type ConfigDir,
  configDirFrom,
  type Gateway,
  mint,
  startGateway,
  tokenRequest,
} from './support.ts';

const DESIGN = '/design-api/v1';
const RECOMMENDATIONS = '/recommendations/v1';
const DEFAULT_SECURE = '/default-secure/v1';
const PLATFORM = { id: 'acme-legacy-client', secret: 'acme-legacy-secret-0123456789' };
const WRITER = { id: 'acme-writer-client', secret: 'acme-writer-secret-0123456789' };
const SUSPENDED = { id: 'globex-suspended-client', secret: 'globex-suspended-secret-0123456789' };
const CODE_ONLY = { id: 'initech-code-client', secret: 'initech-code-secret-0123456789' };
const UMBRELLA = { id: 'umbrella-client', secret: 'umbrella-secret-0123456789' };

let backend: EchoBackend;
let config: ConfigDir;
let gateway: Gateway;

beforeAll(async () => {
  backend = await startEchoBackend();
  config = await configDirFrom('platform', {
    DESIGN_BACKEND: backend.url,
    RECOMMENDATIONS_BACKEND: backend.url,
    SLOW_BACKEND: backend.url,
    DOWN_BACKEND: backend.url,
  });
  gateway = await startGateway({
    configDir: config.dir,
    stateDir: await config.scratch(),
    args: ['--environment', 'alpha'],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await backend?.close();
  await config?.dispose();
});

const scopes = (value: unknown) =>
  typeof value === 'string' ? value.split(' ').filter(Boolean).sort() : value;

describe('client_credentials success', () => {
  it('mints with HTTP Basic: the RFC 6749 fields, Bearer, no-store, JSON', async () => {
    const result = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
      },
    );
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toMatch(/^application\/json/);
    expect(result.headers.get('cache-control')).toContain('no-store');
    expect(typeof result.body.access_token).toBe('string');
    expect(result.body.token_type).toBe('Bearer');
    expect(result.body.expires_in).toBe(3600);
    expect(result.body.scope).toBe('read:design');
  });

  it('mints with client_id and client_secret in the body', async () => {
    const result = await tokenRequest(gateway.url, DESIGN, {
      grant_type: 'client_credentials',
      client_id: PLATFORM.id,
      client_secret: PLATFORM.secret,
    });
    expect(result.status).toBe(200);
    expect(result.body.token_type).toBe('Bearer');
    expect(result.headers.get('cache-control')).toContain('no-store');
  });

  it('accepts a charset on the form content type', async () => {
    const result = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: {
          authorization: basic(PLATFORM.id, PLATFORM.secret),
          'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        },
      },
    );
    expect(result.status).toBe(200);
  });

  it('expires_in follows the Api tokens.ttlSeconds (RS256 Api: 600)', async () => {
    const result = await tokenRequest(
      gateway.url,
      RECOMMENDATIONS,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
      },
    );
    expect(result.status).toBe(200);
    expect(result.body.expires_in).toBe(600);
    expect(result.body.scope).toBe('read:recommendations');
  });
});

describe('scope of a minted token (RFC 6749 §3.3)', () => {
  const request = (client: { id: string; secret: string }, basePath: string, scope?: string) =>
    tokenRequest(
      gateway.url,
      basePath,
      { grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) },
      { headers: { authorization: basic(client.id, client.secret) } },
    );

  it('an omitted scope yields every scope the credential holds on this Api', async () => {
    expect((await request(PLATFORM, DESIGN)).body.scope).toBe('read:design');
    expect(scopes((await request(WRITER, DESIGN)).body.scope)).toEqual([
      'admin:design',
      'read:design',
      'write:design',
    ]);
  });

  it('a Subscription without scopes is granted all that the target declares', async () => {
    const result = await request(UMBRELLA, RECOMMENDATIONS);
    expect(result.status).toBe(200);
    expect(scopes(result.body.scope)).toEqual(['read:recommendations', 'write:recommendations']);
  });

  it('is the intersection of requested, granted and declared', async () => {
    const result = await request(PLATFORM, DESIGN, 'read:design write:design');
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('read:design');
    expect(decodeJwt(result.body.access_token as string).scope).toBe('read:design');
  });

  it('drops requested scopes the Api does not declare', async () => {
    const result = await request(WRITER, DESIGN, 'read:design bogus:scope');
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('read:design');
  });

  it('narrows to what is requested', async () => {
    const result = await request(WRITER, DESIGN, 'write:design');
    expect(result.status).toBe(200);
    expect(result.body.scope).toBe('write:design');
    expect(decodeJwt(result.body.access_token as string).scope).toBe('write:design');
  });

  it('an empty intersection is invalid_scope (400)', async () => {
    for (const scope of [
      'write:design', // declared, not granted
      'read:recommendations', // granted, declared by another Api of the Product
      'bogus:scope', // declared nowhere
      'READ:design', // scope matching is case-sensitive
    ]) {
      const result = await request(PLATFORM, DESIGN, scope);
      expect(result.status, scope).toBe(400);
      expect(result.body.error, scope).toBe('invalid_scope');
      expect(result.body.access_token, scope).toBeUndefined();
    }
  });

  it('an Api that declares no scope mints a token with none when scope is omitted', async () => {
    const result = await request(PLATFORM, DEFAULT_SECURE);
    expect(result.status).toBe(200);
    expect(result.body.scope ?? '').toBe('');
    const token = result.body.access_token as string;
    const call = await fetch(`${gateway.url}${DEFAULT_SECURE}/things`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(call.status).toBe(200);
  });

  it('and refuses a requested scope there (invalid_scope)', async () => {
    const result = await request(PLATFORM, DEFAULT_SECURE, 'read:design');
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_scope');
  });
});

describe('client authentication errors', () => {
  it('a wrong secret and an unknown client get the same 401 invalid_client (Basic)', async () => {
    const wrong = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(PLATFORM.id, 'not-the-secret') },
      },
    );
    const unknown = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic('no-such-client', 'not-the-secret') },
      },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.body).toEqual(wrong.body);
    // RFC 6749 §5.2: a client that used the Authorization header gets a challenge for its scheme.
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/i);
    expect(unknown.headers.get('www-authenticate')).toBe(wrong.headers.get('www-authenticate'));
  });

  it('a wrong secret and an unknown client get the same 401 invalid_client (body)', async () => {
    const wrong = await tokenRequest(gateway.url, DESIGN, {
      grant_type: 'client_credentials',
      client_id: PLATFORM.id,
      client_secret: 'not-the-secret',
    });
    const unknown = await tokenRequest(gateway.url, DESIGN, {
      grant_type: 'client_credentials',
      client_id: 'no-such-client',
      client_secret: 'not-the-secret',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
  });

  it('no client authentication at all is invalid_client (401)', async () => {
    const result = await tokenRequest(gateway.url, DESIGN, { grant_type: 'client_credentials' });
    expect(result.status).toBe(401);
    expect(result.body.error).toBe('invalid_client');
  });

  it('a client of another Api is not a client of this one', async () => {
    const result = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(UMBRELLA.id, UMBRELLA.secret) },
      },
    );
    expect(result.body.access_token).toBeUndefined();
    expect([400, 401]).toContain(result.status);
    expect(['invalid_client', 'unauthorized_client']).toContain(result.body.error);
  });

  it('a suspended Subscription gets no token', async () => {
    const result = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(SUSPENDED.id, SUSPENDED.secret) },
      },
    );
    expect(result.body.access_token).toBeUndefined();
    expect([400, 401]).toContain(result.status);
    expect(['invalid_client', 'unauthorized_client']).toContain(result.body.error);
  });

  it('clientCredentials: false is unauthorized_client for that grant', async () => {
    const result = await tokenRequest(
      gateway.url,
      DESIGN,
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(CODE_ONLY.id, CODE_ONLY.secret) },
      },
    );
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('unauthorized_client');
  });

  it('a malformed Basic header is refused without a server error', async () => {
    for (const authorization of [
      'Basic',
      'Basic !!!not-base64!!!',
      'Basic Zm9v' /* "foo", no colon */,
    ]) {
      const result = await tokenRequest(
        gateway.url,
        DESIGN,
        { grant_type: 'client_credentials' },
        {
          headers: { authorization },
        },
      );
      expect([400, 401], authorization).toContain(result.status);
      expect(['invalid_client', 'invalid_request'], authorization).toContain(result.body.error);
    }
  });

  it('never echoes the secret it was sent', async () => {
    const result = await tokenRequest(gateway.url, DESIGN, {
      grant_type: 'client_credentials',
      client_id: PLATFORM.id,
      client_secret: 'a-wrong-secret-that-must-not-come-back',
    });
    expect(JSON.stringify(result.body)).not.toContain('a-wrong-secret-that-must-not-come-back');
  });
});

describe('invalid_request and friends', () => {
  const expectError = (
    result: { status: number; body: Record<string, unknown> },
    error: string,
  ) => {
    expect(result.status, JSON.stringify(result.body)).toBe(400);
    expect(result.body.error).toBe(error);
    expect(result.body.access_token).toBeUndefined();
  };

  it('two client-authentication methods in one request', async () => {
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        {
          grant_type: 'client_credentials',
          client_id: PLATFORM.id,
          client_secret: PLATFORM.secret,
        },
        { headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) } },
      ),
      'invalid_request',
    );
  });

  it('a repeated parameter', async () => {
    const auth = { headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) } };
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        'grant_type=client_credentials&grant_type=client_credentials',
        auth,
      ),
      'invalid_request',
    );
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        'grant_type=client_credentials&scope=read:design&scope=read:design',
        auth,
      ),
      'invalid_request',
    );
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        `grant_type=client_credentials&client_id=${PLATFORM.id}&client_id=${PLATFORM.id}&client_secret=${PLATFORM.secret}`,
      ),
      'invalid_request',
    );
  });

  it('a secret in the query string, even with a valid body', async () => {
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        {
          grant_type: 'client_credentials',
          client_id: PLATFORM.id,
          client_secret: PLATFORM.secret,
        },
        { query: `client_secret=${PLATFORM.secret}` },
      ),
      'invalid_request',
    );
    expectError(
      await tokenRequest(gateway.url, DESIGN, '', {
        query: `grant_type=client_credentials&client_id=${PLATFORM.id}&client_secret=${PLATFORM.secret}`,
      }),
      'invalid_request',
    );
  });

  it('a missing grant_type', async () => {
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        { scope: 'read:design' },
        {
          headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
        },
      ),
      'invalid_request',
    );
  });

  it('an unknown grant type is unsupported_grant_type', async () => {
    for (const grant of [
      'password',
      'refresh_token',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ]) {
      expectError(
        await tokenRequest(
          gateway.url,
          DESIGN,
          { grant_type: grant, username: 'u', password: 'p' },
          {
            headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
          },
        ),
        'unsupported_grant_type',
      );
    }
  });

  it('a body that is not application/x-www-form-urlencoded', async () => {
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        JSON.stringify({ grant_type: 'client_credentials' }),
        {
          headers: {
            authorization: basic(PLATFORM.id, PLATFORM.secret),
            'content-type': 'application/json',
          },
        },
      ),
      'invalid_request',
    );
  });

  it('an unknown authorization code is invalid_grant', async () => {
    expectError(
      await tokenRequest(
        gateway.url,
        DESIGN,
        {
          grant_type: 'authorization_code',
          code: 'no-such-code',
          redirect_uri: 'https://app.initech.example/callback',
          code_verifier: 'a'.repeat(43),
        },
        { headers: { authorization: basic(CODE_ONLY.id, CODE_ONLY.secret) } },
      ),
      'invalid_grant',
    );
  });

  it('only POST: another method gets 405 with Allow', async () => {
    const result = await fetch(`${gateway.url}${DESIGN}/oauth2/v2/token`);
    await result.arrayBuffer();
    expect(result.status).toBe(405);
    expect(result.headers.get('allow')).toContain('POST');
  });

  it('there is no product-level token endpoint', async () => {
    for (const basePath of ['', '/apiway-platform', '/platform/apiway-platform']) {
      const result = await tokenRequest(
        gateway.url,
        basePath,
        { grant_type: 'client_credentials' },
        {
          headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
        },
      );
      expect(result.status, basePath).toBe(404);
      expect(result.body.access_token).toBeUndefined();
    }
  });

  it('no token endpoint under an unknown basePath', async () => {
    const result = await tokenRequest(
      gateway.url,
      '/no-such-api/v1',
      { grant_type: 'client_credentials' },
      {
        headers: { authorization: basic(PLATFORM.id, PLATFORM.secret) },
      },
    );
    expect(result.status).toBe(404);
  });
});

describe('access token claims (RFC 9068)', () => {
  let jwks: JSONWebKeySet;
  beforeAll(async () => {
    jwks = (await (await fetch(`${gateway.url}/.well-known/jwks`)).json()) as JSONWebKeySet;
  });

  it('ES256 Api: typ at+jwt, kid in the JWKS, iss/aud the Api, sub, client_id, scope, iat/exp/jti', async () => {
    const token = await mint(gateway.url, DESIGN, PLATFORM.id, PLATFORM.secret);
    const header = decodeProtectedHeader(token);
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe('ES256');
    expect(typeof header.kid).toBe('string');
    const key = jwks.keys.find((candidate) => candidate.kid === header.kid);
    expect(key?.kty).toBe('EC');

    const claims = decodeJwt(token);
    const issuer = `${gateway.url}${DESIGN}`;
    expect(claims.iss).toBe(issuer);
    expect([claims.aud].flat()).toEqual([issuer]);
    expect(typeof claims.sub).toBe('string');
    expect(claims.sub).not.toBe('');
    expect(claims.client_id).toBe(PLATFORM.id);
    expect(claims.scope).toBe('read:design');
    expect(typeof claims.iat).toBe('number');
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(60);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(typeof claims.jti).toBe('string');

    const verified = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience: issuer,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    expect(verified.payload.client_id).toBe(PLATFORM.id);
  });

  it('RS256 Api: signed with RS256 and a key the JWKS publishes', async () => {
    const token = await mint(gateway.url, RECOMMENDATIONS, PLATFORM.id, PLATFORM.secret);
    const header = decodeProtectedHeader(token);
    expect(header.alg).toBe('RS256');
    expect(header.typ).toBe('at+jwt');
    expect(jwks.keys.find((candidate) => candidate.kid === header.kid)?.kty).toBe('RSA');
    const issuer = `${gateway.url}${RECOMMENDATIONS}`;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      audience: issuer,
      algorithms: ['RS256'],
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    expect(payload.scope).toBe('read:recommendations');
  });

  it('every token has its own jti', async () => {
    const one = decodeJwt(await mint(gateway.url, DESIGN, PLATFORM.id, PLATFORM.secret));
    const two = decodeJwt(await mint(gateway.url, DESIGN, PLATFORM.id, PLATFORM.secret));
    expect(one.jti).not.toBe(two.jti);
  });

  it('a Product credential mints one token per member Api, aud pinned to each', async () => {
    const design = decodeJwt(await mint(gateway.url, DESIGN, PLATFORM.id, PLATFORM.secret));
    const recommendations = decodeJwt(
      await mint(gateway.url, RECOMMENDATIONS, PLATFORM.id, PLATFORM.secret),
    );
    expect([design.aud].flat()).toEqual([`${gateway.url}${DESIGN}`]);
    expect([recommendations.aud].flat()).toEqual([`${gateway.url}${RECOMMENDATIONS}`]);
    expect(design.client_id).toBe(recommendations.client_id);
  });
});

describe('GET /.well-known/jwks', () => {
  it('publishes ES256 and RS256 public keys with a kid, and never a private field', async () => {
    const response = await fetch(`${gateway.url}/.well-known/jwks`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/json/);
    const { keys } = (await response.json()) as JSONWebKeySet;
    expect(keys.some((key) => key.kty === 'EC' && key.crv === 'P-256' && key.alg === 'ES256')).toBe(
      true,
    );
    expect(keys.some((key) => key.kty === 'RSA' && key.alg === 'RS256')).toBe(true);
    for (const key of keys) {
      expect(typeof key.kid).toBe('string');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
        expect(key, `${key.kid} has ${secret}`).not.toHaveProperty(secret);
      }
    }
    expect(new Set(keys.map((key) => key.kid)).size).toBe(keys.length);
  });
});

describe('GET /.well-known/oauth-authorization-server{basePath} (RFC 8414)', () => {
  it('names the Api issuer, its endpoints, the JWKS, S256 and the iss parameter', async () => {
    const response = await fetch(`${gateway.url}/.well-known/oauth-authorization-server${DESIGN}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const metadata = (await response.json()) as Record<string, unknown>;
    const issuer = `${gateway.url}${DESIGN}`;
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.token_endpoint).toBe(`${issuer}/oauth2/v2/token`);
    expect(metadata.authorization_endpoint).toBe(`${issuer}/oauth2/v2/authorize`);
    expect(metadata.jwks_uri).toBe(`${gateway.url}/.well-known/jwks`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    // RFC 8414 §2: REQUIRED.
    expect(metadata.response_types_supported).toContain('code');
  });

  it('each Api is its own authorization server: the issuer matches its tokens', async () => {
    const metadata = (await (
      await fetch(`${gateway.url}/.well-known/oauth-authorization-server${RECOMMENDATIONS}`)
    ).json()) as Record<string, unknown>;
    const token = await mint(gateway.url, RECOMMENDATIONS, PLATFORM.id, PLATFORM.secret);
    expect(metadata.issuer).toBe(decodeJwt(token).iss);
  });

  it('404 for a basePath no Api of this environment has', async () => {
    for (const path of ['/no-such-api/v1', '/beta-only/v1', '/design-api']) {
      const response = await fetch(`${gateway.url}/.well-known/oauth-authorization-server${path}`);
      await response.arrayBuffer();
      expect(response.status, path).toBe(404);
    }
  });
});

describe('log hygiene', () => {
  it('no secret, key or token reached the log', async () => {
    const token = await mint(gateway.url, DESIGN, WRITER.id, WRITER.secret);
    await fetch(`${gateway.url}${DESIGN}/designs`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await fetch(`${gateway.url}${DESIGN}/designs`, {
      headers: { 'x-api-key': 'acme-legacy-key-0123456789' },
    });
    // The banner printed at start lists the credentials on purpose: look at the log records.
    const records = gateway
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(records.length).toBeGreaterThan(0);
    for (const secret of [
      PLATFORM.secret,
      WRITER.secret,
      'not-the-secret',
      'a-wrong-secret-that-must-not-come-back',
      'acme-legacy-key-0123456789',
      token,
      token.split('.')[2]!,
    ]) {
      for (const record of records) expect(record).not.toContain(secret);
    }
  });
});
