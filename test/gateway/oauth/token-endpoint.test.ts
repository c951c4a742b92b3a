import type { IncomingHttpHeaders } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAccessToken } from '../../../gateway/src/oauth/access-token.ts';
import { apiAudience, apiIssuer } from '../../../gateway/src/oauth/issuer.ts';
import { loadSigningKeys } from '../../../gateway/src/oauth/keys.ts';
import {
  handleTokenRequest,
  type TokenEndpointContext,
  type TokenRequest,
} from '../../../gateway/src/oauth/token-endpoint.ts';
import type { LoadedSnapshot } from '../../../gateway/src/snapshot/loaded.ts';
import type { SnapshotApi } from '../../../gateway/src/snapshot/schema.ts';
import {
  DESIGN,
  NOW,
  PUBLIC_URL,
  RECOMMENDATIONS,
  SPECIAL_CLIENT_ID,
  SPECIAL_SECRET,
  secretOf,
  snapshotOf,
  type TestKeys,
  testKeys,
} from './fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';

let keys: TestKeys;
beforeAll(async () => {
  keys = await testKeys();
});

function context(
  api: SnapshotApi = DESIGN,
  loaded: LoadedSnapshot = snapshotOf(),
): TokenEndpointContext {
  return { api, loaded, keys: keys.loaded, publicUrl: PUBLIC_URL, now: NOW };
}

/** application/x-www-form-urlencoded, as a client library encodes it (independent of the code under test). */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);

function basic(clientId: string, secret: string, encode = true): string {
  const pair = encode ? `${formEncode(clientId)}:${formEncode(secret)}` : `${clientId}:${secret}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

function post(
  form: string | Record<string, string> | [string, string][],
  options: { headers?: IncomingHttpHeaders; query?: string; method?: string } = {},
): TokenRequest {
  return {
    method: options.method ?? 'POST',
    headers: { 'content-type': FORM, ...options.headers },
    query: new URLSearchParams(options.query ?? ''),
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  };
}

/** A client_secret_post client credentials request for `credential(name)`. */
function bodyAuth(name: string, extra: Record<string, string> = {}): TokenRequest {
  return post({
    grant_type: 'client_credentials',
    client_id: name,
    client_secret: secretOf(name),
    ...extra,
  });
}

async function call(request: TokenRequest, ctx: TokenEndpointContext = context()) {
  const response = await handleTokenRequest(request, ctx);
  return { ...response, json: JSON.parse(response.body) as Record<string, unknown> };
}

async function expectError(
  request: TokenRequest,
  status: number,
  error: string,
  ctx: TokenEndpointContext = context(),
): Promise<Awaited<ReturnType<typeof call>>> {
  const response = await call(request, ctx);
  expect(response.json).toMatchObject({ error });
  expect(typeof response.json.error_description).toBe('string');
  expect(response.status).toBe(status);
  expect(response.headers).toMatchObject({
    'Cache-Control': 'no-store',
    'Content-Type': 'application/json',
  });
  return response;
}

describe('client credentials: success', () => {
  it('answers RFC 6749 §5.1 JSON, not cacheable, with a token valid for this Api', async () => {
    const response = await call(bodyAuth('acme-direct'));
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
    });
    expect(response.json).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'read:design',
    });
    const token = response.json.access_token as string;
    const claims = await verifyAccessToken(token, {
      api: DESIGN,
      issuer: apiIssuer(DESIGN, PUBLIC_URL),
      audience: apiAudience(DESIGN, PUBLIC_URL),
      keys: keys.loaded,
      now: NOW,
    });
    expect(claims).toMatchObject({
      sub: 'acme-direct',
      client_id: 'acme-direct',
      scope: 'read:design',
    });
  });

  it('accepts HTTP Basic with form-urlencoded client_id and secret (RFC 6749 §2.3.1)', async () => {
    const response = await call(
      post(
        { grant_type: 'client_credentials' },
        { headers: { authorization: basic(SPECIAL_CLIENT_ID, SPECIAL_SECRET) } },
      ),
    );
    expect(response.status).toBe(200);
    expect(decodeJwt(response.json.access_token as string).client_id).toBe(SPECIAL_CLIENT_ID);
  });

  it('decodes Basic credentials as form-urlencoded: the same special secret sent raw fails', async () => {
    const raw = post(
      { grant_type: 'client_credentials' },
      { headers: { authorization: basic(SPECIAL_CLIENT_ID, SPECIAL_SECRET, false) } },
    );
    await expectError(raw, 401, 'invalid_client');
  });

  it('accepts Basic for plain client ids and secrets, which encoding leaves unchanged', async () => {
    const request = post(
      { grant_type: 'client_credentials' },
      { headers: { authorization: basic('acme-direct', secretOf('acme-direct'), false) } },
    );
    expect((await call(request)).status).toBe(200);
  });

  it('accepts a matching client_id in the body alongside Basic', async () => {
    const request = post(
      { grant_type: 'client_credentials', client_id: 'acme-direct' },
      { headers: { authorization: basic('acme-direct', secretOf('acme-direct')) } },
    );
    expect((await call(request)).status).toBe(200);
  });

  it('accepts a charset=UTF-8 parameter on the media type', async () => {
    const request = bodyAuth('acme-direct');
    request.headers['content-type'] = `${FORM}; charset=UTF-8`;
    expect((await call(request)).status).toBe(200);
  });

  it('accepts the form media type however it is spelled, with or without a UTF-8 charset', async () => {
    for (const type of [
      FORM,
      `${FORM};charset=utf-8`,
      'Application/X-WWW-Form-Urlencoded',
      `${FORM} ; charset="utf-8"`,
      'APPLICATION/x-www-form-urlencoded;CHARSET=Utf-8',
    ]) {
      const request = bodyAuth('acme-direct');
      request.headers['content-type'] = type;
      expect((await call(request)).status, type).toBe(200);
    }
  });

  it('accepts the current secret and a rotated-out one in its grace period, not an expired one', async () => {
    const attempt = (secret: string) =>
      call(
        post({
          grant_type: 'client_credentials',
          client_id: 'acme-rotated',
          client_secret: secret,
        }),
      );
    expect((await attempt('current-secret')).status).toBe(200);
    expect((await attempt('grace-secret')).status).toBe(200);
    expect((await attempt('expired-secret')).status).toBe(401);
  });

  it('mints a Product member token at each member Api, aud pinned to that Api, with its algorithm', async () => {
    const response = await call(bodyAuth('acme-platform'), context(RECOMMENDATIONS));
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ expires_in: 600, scope: 'read:recommendations' });
    const token = response.json.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({
      alg: 'RS256',
      typ: 'at+jwt',
      kid: keys.rs256Active.kid,
    });
    expect(decodeJwt(token).aud).toBe('https://gw.example.test/recommendations-api/v1');
  });
});

describe('scope (RFC 6749 §3.3: requested ∩ granted ∩ declared)', () => {
  it('omitted: every scope granted on this Api', async () => {
    const response = await call(bodyAuth('acme-platform'));
    expect(response.json.scope).toBe('read:design write:design');
  });

  it('an empty scope parameter counts as omitted (RFC 6749 §3.1)', async () => {
    const response = await call(bodyAuth('acme-platform', { scope: '' }));
    expect(response.json.scope).toBe('read:design write:design');
  });

  it('requested: narrowed to what was asked', async () => {
    const response = await call(bodyAuth('acme-platform', { scope: 'write:design' }));
    expect(response.status).toBe(200);
    expect(response.json.scope).toBe('write:design');
    expect(decodeJwt(response.json.access_token as string).scope).toBe('write:design');
  });

  it('drops requested scopes that are not granted or not declared, and says what was granted', async () => {
    const response = await call(
      bodyAuth('acme-direct', { scope: 'read:design write:design admin read:recommendations' }),
    );
    expect(response.status).toBe(200);
    expect(response.json.scope).toBe('read:design');
  });

  it('is exact and case-sensitive', async () => {
    await expectError(bodyAuth('acme-direct', { scope: 'READ:design' }), 400, 'invalid_scope');
  });

  it('requested with an empty intersection: invalid_scope', async () => {
    await expectError(bodyAuth('acme-direct', { scope: 'write:design' }), 400, 'invalid_scope');
  });

  it('a grant with no declared scope, scope omitted: a token with an empty scope', async () => {
    const response = await call(bodyAuth('acme-no-scopes'));
    expect(response.status).toBe(200);
    expect(response.json.scope).toBe('');
    expect(decodeJwt(response.json.access_token as string).scope).toBe('');
  });

  it('never grants a scope the Api does not declare, even one the grant lists', async () => {
    await expectError(
      bodyAuth('acme-no-scopes', { scope: 'admin:everything' }),
      400,
      'invalid_scope',
    );
  });
});

describe('request format', () => {
  it('refuses other methods with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'HEAD']) {
      const response = await expectError(
        { ...bodyAuth('acme-direct'), method },
        405,
        'method_not_allowed',
      );
      expect(response.headers.Allow).toBe('POST');
    }
  });

  it('refuses a body that is not application/x-www-form-urlencoded', async () => {
    for (const type of [
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      'not a type',
      '',
    ]) {
      const request = bodyAuth('acme-direct');
      request.headers['content-type'] = type;
      await expectError(request, 400, 'invalid_request');
    }
    const missing = bodyAuth('acme-direct');
    delete missing.headers['content-type'];
    await expectError(missing, 400, 'invalid_request');
  });

  it('refuses a non-UTF-8 charset', async () => {
    for (const type of [`${FORM}; charset=ISO-8859-1`, `${FORM};charset=latin1;charset=utf-8`]) {
      const request = bodyAuth('acme-direct');
      request.headers['content-type'] = type;
      const response = await expectError(request, 400, 'invalid_request');
      expect(response.json.error_description).toBe('The token request body must be UTF-8.');
    }
  });

  it('refuses a secret or one-time value in the query string, even with a valid body', async () => {
    for (const name of ['client_secret', 'code', 'code_verifier', 'refresh_token', 'password']) {
      const request = bodyAuth('acme-direct');
      request.query = new URLSearchParams({ [name]: 'leaked-value' });
      const response = await expectError(request, 400, 'invalid_request');
      expect(response.body).not.toContain('leaked-value');
    }
  });

  it('refuses a repeated parameter, naming only parameters it knows', async () => {
    const twice = post([
      ['grant_type', 'client_credentials'],
      ['client_id', 'acme-direct'],
      ['client_secret', secretOf('acme-direct')],
      ['scope', 'read:design'],
      ['scope', 'read:design'],
    ]);
    const response = await expectError(twice, 400, 'invalid_request');
    expect(response.json.error_description).toMatch(/scope is repeated/);
    const unknown = await expectError(
      post(`${bodyAuth('acme-direct').body}&x-secret-9=1&x-secret-9=2`),
      400,
      'invalid_request',
    );
    expect(unknown.body).not.toContain('x-secret-9');
  });

  it('refuses a repeated parameter even when one value is empty', async () => {
    await expectError(post(`${bodyAuth('acme-direct').body}&grant_type=`), 400, 'invalid_request');
  });

  it('grant_type missing: invalid_request; unknown: unsupported_grant_type', async () => {
    await expectError(
      post({ client_id: 'acme-direct', client_secret: secretOf('acme-direct') }),
      400,
      'invalid_request',
    );
    for (const grantType of [
      'password',
      '__proto__',
      'constructor',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ]) {
      await expectError(
        bodyAuth('acme-direct', { grant_type: grantType }),
        400,
        'unsupported_grant_type',
      );
    }
  });

  it('authorization_code is not available at this endpoint yet: unsupported_grant_type', async () => {
    const request = bodyAuth('acme-direct', {
      grant_type: 'authorization_code',
      code: 'x',
      redirect_uri: 'https://a',
    });
    await expectError(request, 400, 'unsupported_grant_type');
  });
});

describe('client authentication', () => {
  it('unknown client and wrong secret: the same 401 invalid_client, whichever way the client authenticated', async () => {
    const viaBody = (id: string, secret: string) =>
      expectError(
        post({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
        401,
        'invalid_client',
      );
    const viaBasic = (id: string, secret: string) =>
      expectError(
        post(
          { grant_type: 'client_credentials' },
          { headers: { authorization: basic(id, secret) } },
        ),
        401,
        'invalid_client',
      );

    const bodyUnknown = await viaBody('nobody', 'whatever');
    const bodyWrong = await viaBody('acme-direct', 'wrong-secret');
    const basicUnknown = await viaBasic('nobody', 'whatever');
    const basicWrong = await viaBasic('acme-direct', 'wrong-secret');
    expect(bodyWrong.body).toBe(bodyUnknown.body);
    expect(basicWrong.body).toBe(bodyUnknown.body);
    expect(basicUnknown.body).toBe(bodyUnknown.body);
    expect(basicWrong.headers).toEqual(basicUnknown.headers);
    expect(bodyWrong.headers).toEqual(bodyUnknown.headers);
    for (const response of [bodyUnknown, bodyWrong, basicUnknown, basicWrong]) {
      expect(response.body).not.toContain('wrong-secret');
      expect(response.body).not.toContain('whatever');
    }
  });

  it('challenges with WWW-Authenticate: Basic only when the client used the Authorization header', async () => {
    const viaBasic = await call(
      post(
        { grant_type: 'client_credentials' },
        { headers: { authorization: basic('acme-direct', 'nope') } },
      ),
    );
    expect(viaBasic.headers['WWW-Authenticate']).toBe(
      'Basic realm="https://gw.example.test/design-api/v1", charset="UTF-8"',
    );
    const viaBody = await call(bodyAuth('acme-direct', { client_secret: 'nope' }));
    expect(viaBody.headers['WWW-Authenticate']).toBeUndefined();
  });

  it('refuses two authentication methods in one request: invalid_request', async () => {
    const both = post(
      {
        grant_type: 'client_credentials',
        client_id: 'acme-direct',
        client_secret: secretOf('acme-direct'),
      },
      { headers: { authorization: basic('acme-direct', secretOf('acme-direct')) } },
    );
    await expectError(both, 400, 'invalid_request');
  });

  it('refuses a body client_id that differs from the Basic one', async () => {
    const request = post(
      { grant_type: 'client_credentials', client_id: 'acme-platform' },
      { headers: { authorization: basic('acme-direct', secretOf('acme-direct')) } },
    );
    await expectError(request, 400, 'invalid_request');
  });

  it('no client authentication at all: invalid_client', async () => {
    await expectError(post({ grant_type: 'client_credentials' }), 401, 'invalid_client');
  });

  it('a confidential client sending no secret (or an empty one): invalid_client', async () => {
    await expectError(
      post({ grant_type: 'client_credentials', client_id: 'acme-direct' }),
      401,
      'invalid_client',
    );
    await expectError(bodyAuth('acme-direct', { client_secret: '' }), 401, 'invalid_client');
  });

  it('a client_secret without client_id: invalid_request', async () => {
    await expectError(
      post({ grant_type: 'client_credentials', client_secret: secretOf('acme-direct') }),
      400,
      'invalid_request',
    );
  });

  it('another Authorization scheme: invalid_client with the Basic challenge', async () => {
    const response = await expectError(
      post(
        { grant_type: 'client_credentials' },
        { headers: { authorization: 'Bearer abc.def.ghi' } },
      ),
      401,
      'invalid_client',
    );
    expect(response.headers['WWW-Authenticate']).toMatch(/^Basic realm=/);
  });

  it('malformed Basic credentials: invalid_request', async () => {
    for (const authorization of [
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from('acme-direct:%E0%A4%A').toString('base64')}`,
      `Basic ${Buffer.from([0x61, 0x3a, 0xff]).toString('base64')}`,
    ]) {
      await expectError(
        post({ grant_type: 'client_credentials' }, { headers: { authorization } }),
        400,
        'invalid_request',
      );
    }
  });

  it('a suspended client: invalid_client, said only to a caller holding its secret', async () => {
    const right = await expectError(bodyAuth('acme-suspended'), 401, 'invalid_client');
    expect(right.json.error_description).toMatch(/suspended/);
    const wrong = await expectError(
      bodyAuth('acme-suspended', { client_secret: 'guess' }),
      401,
      'invalid_client',
    );
    expect(wrong.json.error_description).not.toMatch(/suspended/);
  });

  it('client_credentials disabled for the Subscription: unauthorized_client', async () => {
    await expectError(bodyAuth('acme-no-cc'), 400, 'unauthorized_client');
  });

  it('a public client: unauthorized_client by client_id alone, invalid_client with any secret', async () => {
    await expectError(
      post({ grant_type: 'client_credentials', client_id: 'acme-spa' }),
      400,
      'unauthorized_client',
    );
    await expectError(bodyAuth('acme-spa', { client_secret: 'made-up' }), 401, 'invalid_client');
  });

  it('a client with no grant on this Api (not subscribed, or its Product lacks it): unauthorized_client', async () => {
    await expectError(
      bodyAuth('acme-direct'),
      400,
      'unauthorized_client',
      context(RECOMMENDATIONS),
    );
  });
});

describe('keys', () => {
  it('no active key for the Api algorithm: 503 JSON, never a token', async () => {
    const onlyNext = await loadSigningKeys({ keys: [keys.es256Next] }, NOW);
    const response = await expectError(bodyAuth('acme-direct'), 503, 'service_unavailable', {
      ...context(),
      keys: onlyNext,
    });
    expect(response.json.access_token).toBeUndefined();
  });
});
