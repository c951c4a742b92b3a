/**
 * Tokens of external IdPs at an in-process gateway, the IdPs being real OpenID Providers
 * (oidc-provider) on loopback ports: discovery, keys, the checks of issuer, audience, algorithm
 * and expiry, scopes from `scope` or `scp`, the schemes that accept them, the bound on JWKS
 * fetches, per-user rate limits, and the health the operator reads.
 */

import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdpHealth } from '../../../gateway/src/idp/idp-health.ts';
import type { Snapshot, SnapshotIdp } from '../../../gateway/src/snapshot/schema.ts';
import {
  type RunningGateway,
  requestToken,
  startGateway,
  testSigningKeys,
} from '../../support/gateway.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import { startTestIdp, type TestIdp } from '../../support/oidc-provider.ts';
import {
  apiFixture,
  credentialFixture,
  DEFAULT_SCHEMES,
  operation,
  path,
  snapshotFixture,
} from '../../support/snapshot-fixtures.ts';

const BASE = '/design-api/v1';
const AUDIENCE = 'api://design';
const MACHINE = { clientId: 'client-machine', secret: 'machine-secret-0123456789abcdef' };

let backend: EchoBackend;
/** Associated with the Api, scopes in `scope`. */
let idp: TestIdp;
/** Associated with the Api, scopes in `scp`. */
let scpIdp: TestIdp;
/** Not associated with anything: its tokens carry the right audience, the wrong issuer. */
let strangerIdp: TestIdp;

beforeAll(async () => {
  [backend, idp, scpIdp, strangerIdp] = await Promise.all([
    startEchoBackend(),
    startTestIdp({ audience: AUDIENCE }),
    startTestIdp({ audience: AUDIENCE }),
    startTestIdp({ audience: AUDIENCE }),
  ]);
});
afterAll(async () => {
  await Promise.all([backend.close(), idp.close(), scpIdp.close(), strangerIdp.close()]);
});

function idpOf(id: string, testIdp: TestIdp, overrides: Partial<SnapshotIdp> = {}): SnapshotIdp {
  return {
    id,
    issuer: testIdp.issuer,
    audiences: [AUDIENCE],
    apis: ['platform/design'],
    scopeClaim: 'scope',
    ...overrides,
  };
}

function environment(idps: SnapshotIdp[], rateLimit = 100): Snapshot {
  const design = apiFixture({
    name: 'design',
    basePath: BASE,
    backendUrl: backend.url,
    idps: idps.filter((i) => i.apis.includes('platform/design')).map((i) => i.id),
    securitySchemes: {
      ...DEFAULT_SCHEMES,
      oidc: {
        type: 'openIdConnect',
        openIdConnectUrl: `${idp.issuer}/.well-known/openid-configuration`,
      },
      otherOidc: {
        type: 'openIdConnect',
        openIdConnectUrl: 'https://login.other.example/.well-known/openid-configuration',
      },
    },
    paths: [
      path('/designs', { GET: operation([[['oauth', 'read']]]) }),
      path('/admin', { GET: operation([[['oauth', 'admin']]]) }),
      path('/oidc', { GET: operation([[['oidc', 'read']]]) }),
      path('/other-oidc', { GET: operation([[['otherOidc']]]) }),
    ],
    rateLimit: [
      { scope: 'api', target: 'platform/design', requests: rateLimit, periodSeconds: 60 },
    ],
  });
  const other = apiFixture({ name: 'other', basePath: '/other-api/v1', backendUrl: backend.url });
  const machine = credentialFixture({
    name: 'machine',
    clientSecret: MACHINE.secret,
    grants: { 'platform/design': { scopes: ['read', 'write'] } },
  });
  return { ...snapshotFixture({ apis: [design, other], credentials: [machine] }), idps };
}

/** Polls (not a timed assertion: it only bounds the wait) until the gateway reports every IdP checked. */
async function settled(gw: RunningGateway, count: number): Promise<IdpHealth[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const health = gw.gateway.idpHealth();
    if (
      health.length === count &&
      health.every((h) => h.lastCheckTime !== undefined && h.message !== 'not checked yet')
    ) {
      return health;
    }
    if (Date.now() > deadline) throw new Error(`IdPs not checked: ${JSON.stringify(health)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function call(gw: RunningGateway, rest: string, token?: string): Promise<Response> {
  return fetch(`${gw.url}${BASE}${rest}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

async function expectRefused(response: Response, description: RegExp): Promise<void> {
  expect(response.status).toBe(401);
  const challenge = response.headers.get('www-authenticate') ?? '';
  expect(challenge).toContain('error="invalid_token"');
  expect(challenge).toMatch(description);
}

describe('tokens of associated IdPs', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
    await gw.gateway.update(
      environment([
        idpOf('platform/test-idp', idp),
        idpOf('platform/scp-idp', scpIdp, { scopeClaim: 'scp' }),
        // The same issuer as the stranger, but trusted by another Api only.
        idpOf('platform/other-idp', strangerIdp, { apis: ['platform/other'] }),
      ]),
      await testSigningKeys(),
    );
    await settled(gw, 3);
  });
  afterAll(() => gw.close());

  it('accepts a real access token of the IdP on oauth2 and openIdConnect operations', async () => {
    const token = await idp.machineToken('read');
    const designs = await call(gw, '/designs', token);
    expect(designs.status).toBe(200);
    const received = backend.requests.at(-1)!;
    // The IdP user is the consumer; the credential never reaches the backend.
    expect(received.headers['x-apiway-client-id']).toBe('machine-client');
    expect(received.headers['x-apiway-subscription']).toBe('idp:platform/test-idp:machine-client');
    expect(received.headers['x-apiway-scopes']).toBe('read');
    expect(received.headers.authorization).toBeUndefined();
    expect((await call(gw, '/oidc', token)).status).toBe(200);
  });

  it('checks scopes exactly: a read token cannot call an admin operation', async () => {
    const response = await call(gw, '/admin', await idp.machineToken('read'));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('reads scopes from scp, as an array or a string', async () => {
    const array = await scpIdp.signToken({ sub: 'alice', aud: AUDIENCE, scp: ['read', 'admin'] });
    expect((await call(gw, '/admin', array)).status).toBe(200);
    const string = await scpIdp.signToken({ sub: 'alice', aud: AUDIENCE, scp: 'read admin' });
    expect((await call(gw, '/admin', string)).status).toBe(200);
    // Its `scope` claim is not what this IdP's association reads.
    const wrongClaim = await scpIdp.signToken({ sub: 'alice', aud: AUDIENCE, scope: 'read' });
    expect((await call(gw, '/designs', wrongClaim)).status).toBe(403);
    const malformed = await scpIdp.signToken({ sub: 'alice', aud: AUDIENCE, scp: { read: true } });
    await expectRefused(await call(gw, '/designs', malformed), /malformed scope claim/);
  });

  it('an openIdConnect scheme accepts only the IdP whose issuer it names', async () => {
    // The scp IdP is associated with the Api, but the `oidc` scheme names the other issuer.
    const scpToken = await scpIdp.signToken({ sub: 'alice', aud: AUDIENCE, scp: 'read' });
    expect((await call(gw, '/designs', scpToken)).status).toBe(200);
    await expectRefused(await call(gw, '/oidc', scpToken), /not accepted by this operation/);
    await expectRefused(
      await call(gw, '/other-oidc', await idp.machineToken('read')),
      /not accepted/,
    );
    // Nor does a token the gateway minted itself satisfy an openIdConnect scheme.
    const minted = await requestToken(gw.url, BASE, MACHINE, 'read');
    expect((await call(gw, '/designs', minted)).status).toBe(200);
    await expectRefused(await call(gw, '/oidc', minted), /not accepted by this operation/);
  });

  it('refuses a token of an issuer the Api does not trust, even one trusted by another Api', async () => {
    const token = await strangerIdp.signToken({ sub: 'mallory', aud: AUDIENCE, scope: 'read' });
    await expectRefused(
      await call(gw, '/designs', token),
      /not issued by an issuer this API trusts/,
    );
    // A token claiming a trusted issuer but signed by another IdP's key (same kid).
    const forgedIss = await strangerIdp.signToken({
      iss: idp.issuer,
      sub: 'mallory',
      aud: AUDIENCE,
      scope: 'read',
    });
    await expectRefused(await call(gw, '/designs', forgedIss), /signature is invalid/);
  });

  it('refuses the wrong audience, an expired token, one not valid yet, and one without sub', async () => {
    const now = Math.floor(Date.now() / 1000);
    const wrongAudience = await idp.signToken({
      sub: 'alice',
      aud: 'api://billing',
      scope: 'read',
    });
    await expectRefused(await call(gw, '/designs', wrongAudience), /not meant for this API/);
    const expired = await idp.signToken({
      sub: 'alice',
      aud: AUDIENCE,
      scope: 'read',
      iat: now - 3600,
      exp: now - 60,
    });
    await expectRefused(await call(gw, '/designs', expired), /expired/);
    const future = await idp.signToken({
      sub: 'alice',
      aud: AUDIENCE,
      scope: 'read',
      nbf: now + 600,
    });
    await expectRefused(await call(gw, '/designs', future), /not valid yet/);
    const noSubject = await idp.signToken({ aud: AUDIENCE, scope: 'read' });
    await expectRefused(await call(gw, '/designs', noSubject), /lacks a required claim/);
  });

  it('refuses HS256 (keyed with anything) and alg none before fetching any key', async () => {
    const fetchesBefore = idp.requests('/jwks');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: idp.issuer,
      sub: 'mallory',
      aud: AUDIENCE,
      scope: 'read admin',
      iat: now,
      exp: now + 300,
    };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: idp.key.kid })
      .sign(new TextEncoder().encode('a-secret-the-attacker-chose-0123456789'));
    await expectRefused(await call(gw, '/designs', hs256), /algorithm this API does not accept/);
    const unsigned = new UnsecuredJWT(claims).encode();
    await expectRefused(await call(gw, '/designs', unsigned), /algorithm|malformed/);
    expect(idp.requests('/jwks')).toBe(fetchesBefore);
  });

  it('forged kids cost at most one JWKS fetch per cooldown, however many', async () => {
    const fetchesBefore = idp.requests('/jwks');
    const { privateKey } = await generateKeyPair('RS256');
    for (let i = 0; i < 25; i++) {
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ sub: 'mallory', aud: AUDIENCE, scope: 'read' })
        .setProtectedHeader({ alg: 'RS256', kid: randomUUID() })
        .setIssuer(idp.issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      await expectRefused(await call(gw, '/designs', forged), /unknown key/);
    }
    expect(idp.requests('/jwks') - fetchesBefore).toBeLessThanOrEqual(1);
  });

  it('reports every IdP healthy, with its keys, in idpHealth() and the metrics', async () => {
    const health = gw.gateway.idpHealth();
    expect(health.map((h) => h.id)).toEqual([
      'platform/other-idp',
      'platform/scp-idp',
      'platform/test-idp',
    ]);
    expect(health.find((h) => h.id === 'platform/test-idp')).toMatchObject({
      issuer: idp.issuer,
      healthy: true,
      discovered: true,
      keys: 1,
      jwksUri: `${idp.issuer}/jwks`,
      message: '',
    });
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    expect(metrics).toContain('apiway_idp_up{idp="platform/test-idp"} 1');
    expect(metrics).toContain('apiway_idp_signing_keys{idp="platform/test-idp"} 1');
    expect(metrics).toMatch(
      /apiway_idp_jwks_fetches_total\{idp="platform\/test-idp",result="success"\} [1-9]/,
    );
  });
});

describe('IdP users as consumers', () => {
  it('are rate limited per user with the Api default limits', async () => {
    const gw = await startGateway();
    try {
      await gw.gateway.update(
        environment([idpOf('platform/test-idp', idp)], 2),
        await testSigningKeys(),
      );
      await settled(gw, 1);
      const alice = await idp.signToken({ sub: 'alice', aud: AUDIENCE, scope: 'read' });
      const bob = await idp.signToken({ sub: 'bob', aud: AUDIENCE, scope: 'read' });
      expect((await call(gw, '/designs', alice)).status).toBe(200);
      expect((await call(gw, '/designs', alice)).status).toBe(200);
      const limited = await call(gw, '/designs', alice);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).not.toBeNull();
      expect((await call(gw, '/designs', bob)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('IdP keys over time', () => {
  it('finds a key the IdP adds later once the refetch cooldown has passed', async () => {
    const rotating = await startTestIdp({ audience: AUDIENCE });
    const gw = await startGateway({ authorization: { idpTiming: { jwksCooldownMs: 50 } } });
    try {
      await gw.gateway.update(
        environment([idpOf('platform/test-idp', rotating)]),
        await testSigningKeys(),
      );
      await settled(gw, 1);
      const added = await rotating.addSigningKey('ES256');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const token = await rotating.signToken(
        { sub: 'alice', aud: AUDIENCE, scope: 'read' },
        { key: added },
      );
      expect((await call(gw, '/designs', token)).status).toBe(200);
      expect(gw.gateway.idpHealth()[0]).toMatchObject({ healthy: true, keys: 2 });
    } finally {
      await gw.close();
      await rotating.close();
    }
  });

  it('while the JWKS fails, forged kids do not storm it either, and health says so', async () => {
    const failing = await startTestIdp({ audience: AUDIENCE });
    const gw = await startGateway({
      authorization: { idpTiming: { jwksCooldownMs: 0, jwksFailureCooldownMs: 600_000 } },
    });
    try {
      await gw.gateway.update(
        environment([idpOf('platform/test-idp', failing)]),
        await testSigningKeys(),
      );
      await settled(gw, 1);
      failing.setJwksFailing(true);
      const before = failing.requests('/jwks');
      const { privateKey } = await generateKeyPair('ES256');
      for (let i = 0; i < 10; i++) {
        const now = Math.floor(Date.now() / 1000);
        const forged = await new SignJWT({ sub: 'mallory', aud: AUDIENCE, scope: 'read' })
          .setProtectedHeader({ alg: 'ES256', kid: randomUUID() })
          .setIssuer(failing.issuer)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(privateKey);
        expect((await call(gw, '/designs', forged)).status).toBe(401);
      }
      expect(failing.requests('/jwks') - before).toBe(1);
      // The keys loaded before the outage still verify genuine tokens.
      const genuine = await failing.signToken({ sub: 'alice', aud: AUDIENCE, scope: 'read' });
      expect((await call(gw, '/designs', genuine)).status).toBe(200);
      expect(gw.gateway.idpHealth()[0]).toMatchObject({
        healthy: false,
        keys: 1,
        message: 'the signing keys could not be refreshed',
      });
    } finally {
      await gw.close();
      await failing.close();
    }
  });

  it('an IdpAssociation whose issuer differs from the discovered one is unhealthy and trusted for nothing', async () => {
    const gw = await startGateway();
    try {
      // A trailing slash is enough: issuers compare exactly.
      await gw.gateway.update(
        environment([idpOf('platform/test-idp', idp, { issuer: `${idp.issuer}/` })]),
        await testSigningKeys(),
      );
      const [health] = await settled(gw, 1);
      expect(health).toMatchObject({ healthy: false, discovered: false, keys: 0 });
      expect(health?.message).toMatch(/names the issuer/);
      const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      expect(metrics).toContain('apiway_idp_up{idp="platform/test-idp"} 0');
      const token = await idp.signToken({
        iss: `${idp.issuer}/`,
        sub: 'alice',
        aud: AUDIENCE,
        scope: 'read',
      });
      await expectRefused(await call(gw, '/designs', token), /signing keys are not available/);
    } finally {
      await gw.close();
    }
  });
});
