/**
 * SPEC.md "IdpAssociation": tokens of an external OpenID Connect provider, trusted for the Apis
 * it names. The gateway finds the keys through discovery, refreshes on an unknown kid, checks
 * issuer, audience, expiry and signature, reads scopes from `scope` (string) or the configured
 * claim (`scp`, string or array). The IdPs here are real node:http servers signing with jose.
 */

import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EchoBackend,
  type RunningServer,
  startEchoBackend,
  startHttpServer,
} from '../support/http-server.ts';
import {
  type ConfigDir,
  configDirFrom,
  eventually,
  type Gateway,
  mint,
  startGateway,
} from './support.ts';

interface Idp {
  server: RunningServer;
  issuer: string;
  /** Signs a token with the current key (RS256), iat now and exp in 10 minutes unless set. */
  sign(
    claims: Record<string, unknown>,
    options?: { issuer?: string; expiresAt?: number; kid?: string },
  ): Promise<string>;
  /** A new current key (new kid), published alongside the old one. */
  rotate(): Promise<void>;
  keyRequests: number;
}

async function startIdp(path: string): Promise<Idp> {
  const keys: Array<{
    kid: string;
    privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
    jwk: JWK;
  }> = [];
  const addKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `key-${keys.length + 1}`;
    keys.push({
      kid,
      privateKey,
      jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    });
  };
  await addKey();
  const base = path.replace(/\/$/, '');
  let issuer = '';
  const idp: Idp = {
    server: undefined as unknown as RunningServer,
    get issuer() {
      return issuer;
    },
    keyRequests: 0,
    async sign(claims, options = {}) {
      const key = keys.at(-1)!;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? key.kid })
        .setIssuer(options.issuer ?? issuer)
        .setIssuedAt(now)
        .setExpirationTime(options.expiresAt ?? now + 600)
        .sign(key.privateKey);
    },
    rotate: addKey,
  };
  idp.server = await startHttpServer((req, res) => {
    const origin = `http://127.0.0.1:${idp.server.port}`;
    let body: unknown;
    if (req.url === `${base}/.well-known/openid-configuration`) {
      body = {
        issuer,
        jwks_uri: `${origin}${base}/keys`,
        authorization_endpoint: `${origin}${base}/authorize`,
        token_endpoint: `${origin}${base}/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      };
    } else if (req.url === `${base}/keys`) {
      idp.keyRequests++;
      body = { keys: keys.map((key) => key.jwk) };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  issuer = `${idp.server.url}${path}`;
  return idp;
}

let backend: EchoBackend;
let idpA: Idp;
let idpB: Idp;
let config: ConfigDir;
let gateway: Gateway;

beforeAll(async () => {
  backend = await startEchoBackend();
  idpA = await startIdp('/tenant/v2.0/');
  idpB = await startIdp('/realms/globex');
  config = await configDirFrom('idp', {
    BACKEND: backend.url,
    IDP_A: idpA.issuer,
    IDP_B: idpB.issuer,
  });
  gateway = await startGateway({ configDir: config.dir, stateDir: await config.scratch() });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([backend?.close(), idpA?.server.close(), idpB?.server.close()]);
  await config?.dispose();
});

async function status(path: string, token: string) {
  const response = await fetch(`${gateway.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await response.arrayBuffer();
  return { status: response.status, challenge: response.headers.get('www-authenticate') ?? '' };
}

const user = { sub: 'user-1' };

describe('tokens of an associated IdP', () => {
  it('are accepted by oauth2 requirements, scopes from scp as an array or a string', async () => {
    expect(
      (
        await status(
          '/partner/v1/items',
          await idpA.sign({ ...user, aud: 'api://design', scp: ['read:design'] }),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await status(
          '/partner/v1/items',
          await idpA.sign({ ...user, aud: 'api://design', scp: 'read:design other' }),
        )
      ).status,
    ).toBe(200);
  });

  it('the default scope claim is a space-separated string (or an array)', async () => {
    expect(
      (
        await status(
          '/partner/v1/items',
          await idpB.sign({ ...user, aud: 'api://other', scope: 'openid read:design' }),
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await status(
          '/partner/v1/items',
          await idpB.sign({ ...user, aud: ['api://x', 'api://partner'], scope: ['read:design'] }),
        )
      ).status,
    ).toBe(200);
  });

  it('a missing scope is 403 insufficient_scope', async () => {
    const result = await status(
      '/partner/v1/items',
      await idpB.sign({ ...user, aud: 'api://partner', scope: 'openid write:design' }),
    );
    expect(result.status).toBe(403);
    expect(result.challenge).toContain('insufficient_scope');
    // Scope matching is exact and case-sensitive.
    expect(
      (
        await status(
          '/partner/v1/items',
          await idpA.sign({ ...user, aud: 'api://design', scp: ['Read:Design'] }),
        )
      ).status,
    ).toBe(403);
  });

  it('are accepted by http bearer requirements', async () => {
    expect(
      (
        await status(
          '/partner/v1/bearer',
          await idpA.sign({ ...user, aud: 'api://design', scp: [] }),
        )
      ).status,
    ).toBe(200);
  });

  it('openIdConnect requirements take the tokens of the IdP whose issuer matches, only', async () => {
    expect(
      (await status('/partner/v1/oidc', await idpA.sign({ ...user, aud: 'api://design' }))).status,
    ).toBe(200);
    expect(
      (await status('/partner/v1/oidc', await idpB.sign({ ...user, aud: 'api://partner' }))).status,
    ).toBe(401);
    const minted = await mint(
      gateway.url,
      '/partner/v1',
      'partner-client',
      'partner-secret-0123456789',
    );
    expect((await status('/partner/v1/oidc', minted)).status).toBe(401);
    expect((await status('/partner/v1/items', minted)).status).toBe(200);
  });

  // Before any unknown kid is sent: refreshes are bounded (a cool-down), as they must be.
  it('an unknown kid makes the gateway fetch the keys again (a rotated key works)', {
    timeout: 60_000,
  }, async () => {
    await idpA.rotate();
    const token = await idpA.sign({ ...user, aud: 'api://design', scp: ['read:design'] });
    // Bounded: at most one refetch per cool-down (the gateway documents 30 s after a fetch).
    await eventually(
      async () => (await status('/partner/v1/items', token)).status === 200,
      45_000,
      'the rotated key',
    );
  });

  it('are refused with invalid_token on a wrong audience, issuer, expiry or signature', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refused = [
      await idpA.sign({ ...user, aud: 'api://somewhere-else', scp: ['read:design'] }),
      await idpA.sign({ ...user, aud: 'api://partner', scp: ['read:design'] }), // B's audience
      await idpA.sign(
        { ...user, aud: 'api://design', scp: ['read:design'] },
        { issuer: idpB.issuer },
      ),
      await idpA.sign(
        { ...user, aud: 'api://design', scp: ['read:design'] },
        { expiresAt: now - 3600 },
      ),
      await idpA.sign({ ...user, aud: 'api://design', scp: ['read:design'], nbf: now + 3600 }),
    ];
    const [head, payload] = (
      await idpA.sign({ ...user, aud: 'api://design', scp: ['read:design'] })
    ).split('.');
    const [, , otherSignature] = (await idpB.sign({ ...user, aud: 'api://design' })).split('.');
    refused.push(`${head}.${payload}.${otherSignature}`);
    for (const token of refused) {
      const result = await status('/partner/v1/items', token);
      expect(result.status).toBe(401);
      expect(result.challenge).toContain('error="invalid_token"');
    }
  });

  it('are refused by an Api the association does not name', async () => {
    const result = await status(
      '/unassociated/v1/items',
      await idpA.sign({ ...user, aud: 'api://design', scp: ['read:design'] }),
    );
    expect(result.status).toBe(401);
  });

  it('a flood of unknown kids is refused without making the gateway hammer the IdP', async () => {
    const before = idpA.keyRequests;
    for (let i = 0; i < 20; i++) {
      const token = await idpA.sign(
        { ...user, aud: 'api://design', scp: ['read:design'] },
        { kid: `random-${i}` },
      );
      expect((await status('/partner/v1/items', token)).status).toBe(401);
    }
    expect(idpA.keyRequests - before).toBeLessThan(5);
  });
});

describe('GET {basePath}/oauth2/v2/authorize: what is checked before anyone signs in', () => {
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
  const authorize = async (overrides: Record<string, string>) => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'partner-app',
      redirect_uri: 'https://app.partner.example/callback',
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'read:design',
      ...overrides,
    });
    const response = await fetch(`${gateway.url}/partner/v1/oauth2/v2/authorize?${query}`, {
      redirect: 'manual',
    });
    const text = await response.text();
    return { status: response.status, location: response.headers.get('location'), text };
  };

  it('an unregistered redirect_uri (exact match) or an unknown client: 400, never a redirect', async () => {
    const cases: Array<Record<string, string>> = [
      { redirect_uri: 'https://evil.example/callback' },
      { redirect_uri: 'https://app.partner.example/callback/' },
      { redirect_uri: 'https://app.partner.example/callback?x=1' },
      { client_id: 'nobody' },
    ];
    for (const overrides of cases) {
      const result = await authorize(overrides);
      expect(result.status, JSON.stringify(overrides)).toBe(400);
      expect(result.location).toBeNull();
    }
  });

  it('other errors go back to the registered redirect_uri with error, state and iss', async () => {
    for (const [overrides, error] of [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: '' }, 'invalid_request'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ scope: 'write:design' }, 'invalid_scope'],
    ] as Array<[Record<string, string>, string]>) {
      const result = await authorize(overrides);
      expect(result.status, JSON.stringify(overrides)).toBe(302);
      const location = new URL(result.location!);
      expect(`${location.origin}${location.pathname}`).toBe('https://app.partner.example/callback');
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('state')).toBe('xyz');
      expect(location.searchParams.get('iss')).toBe(`${gateway.url}/partner/v1`);
      expect(location.searchParams.get('code')).toBeNull();
    }
  });
});
