/**
 * SPEC.md "anything else under a basePath": operation match → security → scopes → proxy, and the
 * failures it names. Every case is seen from outside: what the client gets, and what the
 * backend (a real node:http server on 127.0.0.1) received — or that it received nothing.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, type TestResponse } from '../support/http-client.ts';
import { freePort, type RunningServer, startHttpServer } from '../support/http-server.ts';
import { type ConfigDir, configDirFrom, type Gateway, mint, startGateway } from './support.ts';

const DESIGN = '/design-api/v1';
const RECOMMENDATIONS = '/recommendations/v1';
const PLATFORM = {
  id: 'acme-legacy-client',
  secret: 'acme-legacy-secret-0123456789',
  key: 'acme-legacy-key-0123456789',
};
const WRITER = {
  id: 'acme-writer-client',
  secret: 'acme-writer-secret-0123456789',
  key: 'acme-writer-key-0123456789',
};
const SUSPENDED_KEY = 'globex-suspended-key-0123456789';
const NO_API_KEY = 'initech-code-key-0123456789';
const UMBRELLA_KEY = 'umbrella-key-0123456789';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Records every request; answers 200 with it as JSON, or `?status=NNN` with that status. */
async function recordingBackend(): Promise<RunningServer & { requests: Received[] }> {
  const requests: Received[] = [];
  const server = await startHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const received = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(received);
    const status = Number(/[?&]status=(\d{3})/.exec(received.url)?.[1] ?? 200);
    const body = JSON.stringify(received);
    res.writeHead(status, { 'content-type': 'application/json', 'x-from-backend': 'yes' });
    res.end(body);
  });
  return { ...server, requests };
}

let design: Awaited<ReturnType<typeof recordingBackend>>;
let recommendations: Awaited<ReturnType<typeof recordingBackend>>;
let slow: RunningServer;
let config: ConfigDir;
let gateway: Gateway;
let platformToken: string;
let writerToken: string;
let writerReadOnly: string;
let writerWriteOnly: string;
let recommendationsToken: string;
/** Every credential sent in this file: none may be logged or reach a backend. */
const credentials: string[] = [PLATFORM.key, PLATFORM.secret, WRITER.key, WRITER.secret];

beforeAll(async () => {
  design = await recordingBackend();
  recommendations = await recordingBackend();
  slow = await startHttpServer(async (req, res) => {
    if (req.url?.includes('/sleep')) await new Promise((resolve) => setTimeout(resolve, 3_000));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('late');
  });
  config = await configDirFrom('platform', {
    DESIGN_BACKEND: design.url,
    RECOMMENDATIONS_BACKEND: recommendations.url,
    SLOW_BACKEND: slow.url,
    DOWN_BACKEND: `http://127.0.0.1:${await freePort()}`,
  });
  gateway = await startGateway({
    configDir: config.dir,
    stateDir: await config.scratch(),
    args: ['--environment', 'alpha'],
  });
  platformToken = await mint(gateway.url, DESIGN, PLATFORM.id, PLATFORM.secret);
  writerToken = await mint(gateway.url, DESIGN, WRITER.id, WRITER.secret);
  writerReadOnly = await mint(gateway.url, DESIGN, WRITER.id, WRITER.secret, 'read:design');
  writerWriteOnly = await mint(gateway.url, DESIGN, WRITER.id, WRITER.secret, 'write:design');
  recommendationsToken = await mint(gateway.url, RECOMMENDATIONS, PLATFORM.id, PLATFORM.secret);
  credentials.push(
    platformToken,
    writerToken,
    writerReadOnly,
    writerWriteOnly,
    recommendationsToken,
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([design?.close(), recommendations?.close(), slow?.close()]);
  await config?.dispose();
});

const call = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
  send(gateway.url, { method, path, headers, ...(body === undefined ? {} : { body }) });
const withKey = (key: string) => ({ 'x-api-key': key });
const withToken = (token: string) => ({ authorization: `Bearer ${token}` });

/** Runs `action`, then says whether `backend` received anything meanwhile. */
async function reached(
  backend: { requests: Received[] },
  action: () => Promise<TestResponse>,
): Promise<[TestResponse, Received[]]> {
  const before = backend.requests.length;
  const response = await action();
  return [response, backend.requests.slice(before)];
}

function expectUnauthorized(response: TestResponse, invalid = true) {
  expect(response.status, response.body).toBe(401);
  const challenge = response.headers['www-authenticate'] ?? '';
  expect(challenge).toMatch(/^Bearer\b/);
  if (invalid) expect(challenge).toContain('error="invalid_token"');
}

describe('operation match', () => {
  it('a path under basePath that matches no operation is 404 and never reaches the backend', async () => {
    for (const path of [
      `${DESIGN}/unknown`,
      `${DESIGN}/designs/1/versions`,
      `${DESIGN}/designs/1/versions/2/x`,
    ]) {
      const [withCredential, forwarded] = await reached(design, () =>
        call(path, withKey(PLATFORM.key)),
      );
      expect(withCredential.status, path).toBe(404);
      expect(forwarded, path).toEqual([]);
      expect((await call(path)).status, path).toBe(404);
    }
  });

  it('a known path with the wrong method is 405 with Allow, never reaching the backend', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs`, withKey(PLATFORM.key), 'PATCH'),
    );
    expect(response.status).toBe(405);
    const allow = (response.headers.allow ?? '').split(',').map((method) => method.trim());
    expect(allow).toEqual(expect.arrayContaining(['GET', 'POST']));
    expect(allow).not.toContain('PATCH');
    expect(forwarded).toEqual([]);

    const templated = await call(`${DESIGN}/designs/7`, {}, 'POST');
    expect(templated.status).toBe(405);
    expect(templated.headers.allow?.split(',').map((method) => method.trim())).toEqual(
      expect.arrayContaining(['GET', 'PUT', 'DELETE']),
    );
  });

  it('a trailing slash is another path (no folding)', async () => {
    for (const path of [`${DESIGN}/designs/`, `${DESIGN}/public/`, `${DESIGN}/`]) {
      const [response, forwarded] = await reached(design, () => call(path, withKey(PLATFORM.key)));
      expect(response.status, path).toBe(404);
      expect(forwarded).toEqual([]);
    }
  });

  it('%2F never becomes a separator', async () => {
    expect((await call(`${DESIGN}/designs%2F42`, withKey(PLATFORM.key))).status).toBe(404);
    expect((await call(`${DESIGN}/public%2Fx`)).status).toBe(404);
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs/a%2Fb`, withKey(PLATFORM.key)),
    );
    expect(response.status).toBe(200);
    expect(forwarded.map((request) => request.url)).toEqual(['/base/designs/a%2Fb']);
  });

  it('dot-segments never escape a basePath', async () => {
    for (const path of [
      `${DESIGN}/../recommendations/v1/recommendations`,
      `${DESIGN}/%2e%2e/recommendations/v1/recommendations`,
      `${DESIGN}/%2E%2E/recommendations/v1/recommendations`,
      `${DESIGN}/designs/../../../recommendations/v1/recommendations`,
      `${DESIGN}/designs/..%2F..%2F..%2Frecommendations/v1/recommendations`,
      `/recommendations/v1/../..${DESIGN}/designs`,
    ]) {
      const beforeDesign = design.requests.length;
      const [response, forwarded] = await reached(recommendations, () =>
        call(path, withKey(PLATFORM.key)),
      );
      expect(forwarded, path).toEqual([]);
      expect(response.status, path).not.toBe(200);
      expect(response.status, path).toBeLessThan(500);
      for (const request of design.requests.slice(beforeDesign)) {
        expect(request.url, path).not.toMatch(/(^|\/)(\.|%2e){2}(\/|$)/i);
      }
    }
  });

  it('basePath matches whole segments, case-sensitively', async () => {
    for (const path of [
      '/design-api/v1x/designs',
      '/Design-Api/v1/designs',
      '/design-api/designs',
      DESIGN,
    ]) {
      const [response, forwarded] = await reached(design, () => call(path, withKey(PLATFORM.key)));
      expect(response.status, path).toBe(404);
      expect(forwarded).toEqual([]);
    }
  });

  it('an empty segment is not a path parameter, and // is not /', async () => {
    expect((await call(`${DESIGN}//designs`, withKey(PLATFORM.key))).status).toBe(404);
    expect((await call(`${DESIGN}/designs//versions/1`, withKey(PLATFORM.key))).status).toBe(404);
  });

  it('a concrete path wins over a template (OpenAPI path matching)', async () => {
    expect((await call(`${DESIGN}/designs/latest`)).status).toBe(200);
    expectUnauthorized(await call(`${DESIGN}/designs/other`), false);
  });

  it('several path parameters', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs/d-1/versions/7?full=true`, withKey(PLATFORM.key)),
    );
    expect(response.status).toBe(200);
    expect(forwarded.map((request) => request.url)).toEqual([
      '/base/designs/d-1/versions/7?full=true',
    ]);
  });

  it('the query string plays no part in matching', async () => {
    expect((await call(`${DESIGN}/public?path=/designs/1&x=..%2F`)).status).toBe(200);
  });

  it('an Api of another environment is not served', async () => {
    expect((await call('/beta-only/v1/x')).status).toBe(404);
  });

  it('outside every basePath: 404, and the admin endpoints are not on the public port', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics', '/nothing/here']) {
      expect((await call(path)).status, path).toBe(404);
    }
  });
});

describe('security from the OpenAPI document', () => {
  it('root security: any one alternative suffices (oauth2 read:design OR apiKey)', async () => {
    expect((await call(`${DESIGN}/designs`, withKey(PLATFORM.key))).status).toBe(200);
    expect((await call(`${DESIGN}/designs`, withToken(platformToken))).status).toBe(200);
    expect((await call(`${DESIGN}/designs`, { 'X-API-KEY': PLATFORM.key })).status).toBe(200);
  });

  it('missing credentials: 401 with a Bearer challenge, backend untouched', async () => {
    const [response, forwarded] = await reached(design, () => call(`${DESIGN}/designs`));
    expectUnauthorized(response, false);
    expect(forwarded).toEqual([]);
  });

  it('bad credentials: 401 Bearer error="invalid_token"', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const issuer = `${gateway.url}${DESIGN}`;
    const forged = await new SignJWT({ scope: 'read:design', client_id: PLATFORM.id })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged' })
      .setIssuer(issuer)
      .setAudience(issuer)
      .setSubject(PLATFORM.id)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('forged')
      .sign(privateKey);
    const unsigned = new UnsecuredJWT({ scope: 'read:design', client_id: PLATFORM.id })
      .setIssuer(issuer)
      .setAudience(issuer)
      .setSubject(PLATFORM.id)
      .setIssuedAt()
      .setExpirationTime('1h')
      .encode();
    const [head, payload, signature] = platformToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const widened = Buffer.from(
      JSON.stringify({ ...claims, scope: 'read:design write:design' }),
    ).toString('base64url');
    for (const token of [
      'garbage',
      forged,
      unsigned,
      `${head}.${widened}.${signature}`,
      `${platformToken}x`,
    ]) {
      const [response, forwarded] = await reached(design, () =>
        call(`${DESIGN}/designs`, withToken(token)),
      );
      expectUnauthorized(response);
      expect(forwarded).toEqual([]);
    }
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs`, withKey('not-a-key')),
    );
    expectUnauthorized(response);
    expect(forwarded).toEqual([]);
  });

  it('a token whose aud is another Api is invalid_token (401)', async () => {
    expectUnauthorized(await call(`${DESIGN}/designs`, withToken(recommendationsToken)));
  });

  it('an operation security replaces the root one', async () => {
    // POST /designs: oauth2 write:design only — an API key is not accepted there.
    expectUnauthorized(await call(`${DESIGN}/designs`, withKey(WRITER.key), 'POST', '{}'), false);
    expect((await call(`${DESIGN}/designs`, withToken(writerToken), 'POST', '{}')).status).toBe(
      200,
    );
  });

  it('403 insufficient_scope names the scope the operation needs', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs`, withToken(platformToken), 'POST', '{}'),
    );
    expect(response.status).toBe(403);
    const challenge = response.headers['www-authenticate'] ?? '';
    expect(challenge).toMatch(/^Bearer\b/);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toMatch(/scope="[^"]*write:design[^"]*"/);
    expect(forwarded).toEqual([]);
  });

  it('one alternative with several scopes needs all of them', async () => {
    expect(
      (await call(`${DESIGN}/designs/1/review`, withToken(writerReadOnly), 'POST')).status,
    ).toBe(403);
    expect(
      (await call(`${DESIGN}/designs/1/review`, withToken(writerWriteOnly), 'POST')).status,
    ).toBe(403);
    expect((await call(`${DESIGN}/designs/1/review`, withToken(writerToken), 'POST')).status).toBe(
      200,
    );
  });

  it('scope matching is per operation: admin:design for DELETE', async () => {
    expect((await call(`${DESIGN}/designs/1`, withToken(writerReadOnly), 'DELETE')).status).toBe(
      403,
    );
    expect((await call(`${DESIGN}/designs/1`, withToken(writerToken), 'DELETE')).status).toBe(200);
  });

  it('schemes of one alternative must all pass (oauth2 write:design AND apiKey)', async () => {
    const path = `${DESIGN}/designs/9`;
    expect(
      (await call(path, { ...withToken(writerToken), ...withKey(WRITER.key) }, 'PUT')).status,
    ).toBe(200);
    expect([401, 403]).toContain((await call(path, withToken(writerToken), 'PUT')).status);
    expect([401, 403]).toContain((await call(path, withKey(WRITER.key), 'PUT')).status);
    expect(
      (await call(path, { ...withToken(platformToken), ...withKey(PLATFORM.key) }, 'PUT')).status,
    ).toBe(403);
  });

  it('the schemes of one alternative must name the same consumer', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs/9`, { ...withToken(writerToken), ...withKey(PLATFORM.key) }, 'PUT'),
    );
    expect([401, 403]).toContain(response.status);
    expect(forwarded).toEqual([]);
  });

  it('alternatives: a token lacking the scope may still pass with an API key', async () => {
    expect((await call(`${DESIGN}/designs`, withToken(writerWriteOnly))).status).toBe(403);
    expect(
      (await call(`${DESIGN}/designs`, { ...withToken(writerWriteOnly), ...withKey(WRITER.key) }))
        .status,
    ).toBe(200);
  });

  it('security: [] makes an operation public', async () => {
    const [response, forwarded] = await reached(design, () => call(`${DESIGN}/public`));
    expect(response.status).toBe(200);
    expect(forwarded.map((request) => request.url)).toEqual(['/base/public']);
  });

  it('{} among the alternatives makes authentication optional, but a bad token is still 401', async () => {
    expect((await call(`${DESIGN}/optional`)).status).toBe(200);
    const [authenticated, forwarded] = await reached(design, () =>
      call(`${DESIGN}/optional`, withToken(platformToken)),
    );
    expect(authenticated.status).toBe(200);
    expect(JSON.stringify(forwarded[0]?.headers)).toContain(PLATFORM.id);
    expectUnauthorized(await call(`${DESIGN}/optional`, withToken('garbage')));
    expectUnauthorized(await call(`${DESIGN}/optional`, withToken(recommendationsToken)));
  });

  it('apiKey in a query parameter (and not in a header there)', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/query-key?a=1&api_key=${PLATFORM.key}&b=2`),
    );
    expect(response.status).toBe(200);
    expect(forwarded[0]?.url).toBe('/base/query-key?a=1&b=2');
    expectUnauthorized(await call(`${DESIGN}/query-key`, withKey(PLATFORM.key)), false);
    expectUnauthorized(await call(`${DESIGN}/query-key?api_key=nope`));
  });

  it('http bearer accepts a minted token, whatever the case of the scheme name', async () => {
    expect((await call(`${DESIGN}/bearer`, withToken(platformToken))).status).toBe(200);
    expect(
      (await call(`${DESIGN}/bearer`, { authorization: `bearer ${platformToken}` })).status,
    ).toBe(200);
    expectUnauthorized(await call(`${DESIGN}/bearer`, withToken(PLATFORM.key)));
    expectUnauthorized(await call(`${DESIGN}/bearer`, withKey(PLATFORM.key)), false);
  });

  it('secure by default: no security at either level needs a credential of this Api', async () => {
    expectUnauthorized(await call('/default-secure/v1/things'), false);
    expect((await call('/default-secure/v1/things', withKey(PLATFORM.key))).status).toBe(200);
    const token = await mint(gateway.url, '/default-secure/v1', PLATFORM.id, PLATFORM.secret);
    expect((await call('/default-secure/v1/things', withToken(token))).status).toBe(200);
    // acme-writer is subscribed to design-api only.
    expectUnauthorized(await call('/default-secure/v1/things', withKey(WRITER.key)));
    expectUnauthorized(await call('/default-secure/v1/things', withToken(writerToken)));
  });

  it('a Product credential works on every member Api', async () => {
    expect((await call(`${RECOMMENDATIONS}/recommendations`, withKey(PLATFORM.key))).status).toBe(
      200,
    );
    expect(
      (await call(`${RECOMMENDATIONS}/recommendations/r1`, withToken(recommendationsToken))).status,
    ).toBe(200);
  });

  it('keys that must not work: suspended, apiKey: false, another Api', async () => {
    expectUnauthorized(await call(`${DESIGN}/designs`, withKey(SUSPENDED_KEY)));
    expectUnauthorized(await call(`${DESIGN}/designs`, withKey(NO_API_KEY)));
    expectUnauthorized(await call(`${DESIGN}/designs`, withKey(UMBRELLA_KEY)));
  });

  it('the security of a $ref-using OpenAPI 3.0 document from a ConfigMap is enforced', async () => {
    expectUnauthorized(await call(`${RECOMMENDATIONS}/recommendations`), false);
    const umbrella = await mint(
      gateway.url,
      RECOMMENDATIONS,
      'umbrella-client',
      'umbrella-secret-0123456789',
    );
    expect(
      (await call(`${RECOMMENDATIONS}/recommendations`, withToken(umbrella), 'POST', '{}')).status,
    ).toBe(200);
    expect(
      (
        await call(
          `${RECOMMENDATIONS}/recommendations`,
          withToken(recommendationsToken),
          'POST',
          '{}',
        )
      ).status,
    ).toBe(403);
  });
});

describe('proxying', () => {
  it('appends the path after basePath to the backend URL path, query unchanged', async () => {
    const query = 'x=1&x=2&y=a%20b+c&z=%2F&empty=&flag&u=%C3%A9';
    const [response, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs/42?${query}`, withKey(PLATFORM.key)),
    );
    expect(response.status).toBe(200);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]?.method).toBe('GET');
    expect(forwarded[0]?.url).toBe(`/base/designs/42?${query}`);
  });

  it('passes method, body and the client headers, without the credential', async () => {
    const [response, forwarded] = await reached(design, () =>
      call(
        `${DESIGN}/designs`,
        { ...withToken(writerToken), 'content-type': 'application/json', 'x-custom': 'kept' },
        'POST',
        '{"name":"chair"}',
      ),
    );
    expect(response.status).toBe(200);
    const received = forwarded[0]!;
    expect(received.method).toBe('POST');
    expect(received.body).toBe('{"name":"chair"}');
    expect(received.headers['x-custom']).toBe('kept');
    expect(received.headers.authorization).toBeUndefined();
    expect(JSON.stringify(received)).not.toContain(writerToken);

    const [, keyed] = await reached(design, () => call(`${DESIGN}/designs`, withKey(PLATFORM.key)));
    expect(keyed[0]?.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(keyed[0])).not.toContain(PLATFORM.key);
  });

  it('sets X-Forwarded-For, -Proto and -Host', async () => {
    const [, forwarded] = await reached(design, () =>
      call(`${DESIGN}/public`, { host: 'shop.example.test' }),
    );
    const headers = forwarded[0]!.headers;
    expect(headers['x-forwarded-for']).toContain('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe('shop.example.test');
  });

  it('the peer address is the last X-Forwarded-For hop, whatever the client sent', async () => {
    const [, forwarded] = await reached(design, () =>
      call(`${DESIGN}/public`, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' }),
    );
    const chain = String(forwarded[0]!.headers['x-forwarded-for'])
      .split(',')
      .map((hop) => hop.trim());
    expect(chain.at(-1)).toContain('127.0.0.1');
    expect(forwarded[0]!.headers['x-forwarded-proto']).toBe('http');
  });

  it('names the consumer (client id, granted scopes) in headers the client cannot forge', async () => {
    const [, forwarded] = await reached(design, () =>
      call(`${DESIGN}/designs`, withToken(writerReadOnly)),
    );
    const headers = forwarded[0]!.headers;
    const clientHeader = Object.keys(headers).find((name) => headers[name] === WRITER.id);
    const scopeHeader = Object.keys(headers).find(
      (name) => name !== clientHeader && String(headers[name]).includes('read:design'),
    );
    expect(clientHeader, JSON.stringify(headers)).toBeDefined();
    expect(scopeHeader, JSON.stringify(headers)).toBeDefined();
    expect(String(headers[scopeHeader!])).not.toContain('write:design');

    // The same names sent by a client never reach the backend as if the gateway set them.
    const forged = { [clientHeader!]: 'evil-client', [scopeHeader!]: 'admin:design' };
    const [, anonymous] = await reached(design, () => call(`${DESIGN}/public`, forged));
    expect(JSON.stringify(anonymous[0]!.headers)).not.toContain('evil-client');
    expect(JSON.stringify(anonymous[0]!.headers)).not.toContain('admin:design');
    const [, authenticated] = await reached(design, () =>
      call(`${DESIGN}/designs`, { ...forged, ...withKey(PLATFORM.key) }),
    );
    expect(authenticated[0]!.headers[clientHeader!]).toBe(PLATFORM.id);
    expect(JSON.stringify(authenticated[0]!.headers)).not.toContain('evil-client');
  });

  it("passes the backend's status, headers and body back", async () => {
    const response = await call(`${DESIGN}/designs/7?status=418`, withKey(PLATFORM.key));
    expect(response.status).toBe(418);
    expect(response.headers['x-from-backend']).toBe('yes');
    expect(response.json().url).toBe('/base/designs/7?status=418');
    expect((await call(`${DESIGN}/designs/7?status=404`, withKey(PLATFORM.key))).status).toBe(404);
  });
});

describe('failures', () => {
  it('502 when the backend is unreachable', async () => {
    expect((await call('/down/v1/anything')).status).toBe(502);
  });

  it('504 when the backend does not answer within timeoutSeconds', async () => {
    expect((await call('/slow/v1/quick')).status).toBe(200);
    expect((await call('/slow/v1/sleep')).status).toBe(504);
  });

  it('no credential or token sent in this file was logged', async () => {
    const output = gateway.output();
    const logLines = output.split('\n').filter((line) => line.startsWith('{'));
    for (const credential of [...credentials, PLATFORM.key]) {
      for (const line of logLines) expect(line).not.toContain(credential);
    }
    for (const token of credentials.slice(4)) expect(output).not.toContain(token);
  });
});
