import {
  CompactSign,
  type CryptoKey,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/src/errors.ts';
import {
  createVerifiedTokenCache,
  mintAccessToken,
  type VerifiedTokenCache,
  type VerifyAccessTokenContext,
  verifyAccessToken,
} from '../../../gateway/src/oauth/access-token.ts';
import { apiAudience, apiIssuer } from '../../../gateway/src/oauth/issuer.ts';
import { loadSigningKeys } from '../../../gateway/src/oauth/keys.ts';
import type { SnapshotApi } from '../../../gateway/src/snapshot/schema.ts';
import {
  BILLING,
  CREDENTIALS,
  DESIGN,
  NOW,
  PUBLIC_URL,
  privateKeyOf,
  RECOMMENDATIONS,
  type TestKeys,
  testKeys,
} from './fixtures.ts';

const ISSUER = apiIssuer(DESIGN, PUBLIC_URL);
const NOW_S = Math.floor(NOW.getTime() / 1000);
const PLATFORM = CREDENTIALS.find((c) => c.name === 'acme-platform') ?? CREDENTIALS[0];

let keys: TestKeys;
beforeAll(async () => {
  keys = await testKeys();
});

function verifyContext(api: SnapshotApi = DESIGN, now = NOW): VerifyAccessTokenContext {
  return {
    api,
    issuer: apiIssuer(api, PUBLIC_URL),
    audience: apiAudience(api, PUBLIC_URL),
    keys: keys.loaded,
    now,
  };
}

async function mint(api: SnapshotApi = DESIGN, now = NOW, scopes = ['read:design']) {
  if (!PLATFORM) throw new Error('fixture');
  return mintAccessToken({
    api,
    credential: PLATFORM,
    scopes,
    issuer: apiIssuer(api, PUBLIC_URL),
    audience: apiAudience(api, PUBLIC_URL),
    keys: keys.loaded,
    now,
  });
}

/** A token with valid design-api claims, overridable, signed by `key` (default: the active ES256 key). */
async function forge(
  options: {
    claims?: JWTPayload;
    header?: Record<string, unknown>;
    key?: CryptoKey | Uint8Array;
    kid?: string;
  } = {},
): Promise<string> {
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: ISSUER,
    sub: 'acme-platform',
    client_id: 'acme-platform',
    scope: 'read:design',
    iat: NOW_S,
    exp: NOW_S + 600,
    jti: 'forged',
    ...options.claims,
  };
  const header = {
    alg: 'ES256',
    typ: 'at+jwt',
    kid: options.kid ?? keys.es256Active.kid,
    ...options.header,
  };
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .sign(options.key ?? (await privateKeyOf(keys.es256Active)));
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

async function expectInvalidToken(
  token: string,
  ctx = verifyContext(),
  description?: RegExp,
): Promise<void> {
  const error = await verifyAccessToken(token, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  const gatewayError = error as GatewayError;
  expect(gatewayError.code).toBe('invalid_token');
  expect(gatewayError.status).toBe(401);
  for (const part of token.split('.'))
    if (part.length > 8) expect(gatewayError.message).not.toContain(part);
  if (description) expect(gatewayError.message).toMatch(description);
}

describe('mintAccessToken', () => {
  it('mints an RFC 9068 token with the Api claims', async () => {
    const { token, expiresIn, claims } = await mint();
    expect(expiresIn).toBe(3600);
    expect(decodeProtectedHeader(token)).toEqual({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: keys.es256Active.kid,
    });
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      iss: 'https://gw.example.test/design-api/v1',
      aud: 'https://gw.example.test/design-api/v1',
      sub: 'acme-platform',
      client_id: 'acme-platform',
      scope: 'read:design',
      iat: NOW_S,
      exp: NOW_S + 3600,
      jti: expect.any(String),
    });
    expect(claims).toEqual(payload);
  });

  it('serialises exactly the header { alg, typ, kid } and the claims, nothing added (ES256 and RS256)', async () => {
    for (const [api, scopes, key] of [
      [DESIGN, ['read:design'], keys.es256Active],
      [RECOMMENDATIONS, ['read:recommendations'], keys.rs256Active],
    ] as const) {
      const { token, claims } = await mint(api, NOW, [...scopes]);
      const [header, payload] = token.split('.');
      expect(header).toBe(b64({ alg: key.alg, typ: 'at+jwt', kid: key.kid }));
      expect(payload).toBe(b64(claims));
      await expect(verifyAccessToken(token, verifyContext(api))).resolves.toEqual(claims);
    }
  });

  it('makes the very RS256 token jose CompactSign makes with the same key (PKCS#1 v1.5 is deterministic)', async () => {
    const { token, claims } = await mint(RECOMMENDATIONS, NOW, ['read:recommendations']);
    const joseToken = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keys.rs256Active.kid })
      .sign(await privateKeyOf(keys.rs256Active));
    expect(token).toBe(joseToken);
  });

  it('gives every token its own jti', async () => {
    const [a, b] = await Promise.all([mint(), mint()]);
    expect(a.claims.jti).not.toBe(b.claims.jti);
  });

  it('signs with the Api algorithm and ttl (RS256 Api: RS256 key)', async () => {
    const { token, expiresIn } = await mint(RECOMMENDATIONS, NOW, ['read:recommendations']);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', kid: keys.rs256Active.kid });
    expect(expiresIn).toBe(600);
    expect(decodeJwt(token).exp).toBe(NOW_S + 600);
  });

  it('uses the Api explicit audience when it names one', async () => {
    const { token } = await mint(BILLING, NOW, ['read:billing']);
    expect(decodeJwt(token)).toMatchObject({
      iss: 'https://gw.example.test/billing-api/v1',
      aud: 'api://billing',
    });
    await expect(verifyAccessToken(token, verifyContext(BILLING))).resolves.toMatchObject({
      aud: 'api://billing',
    });
  });

  it('never carries a scope the Api does not declare, nor a duplicate', async () => {
    const { claims } = await mint(DESIGN, NOW, [
      'write:design',
      'admin',
      'write:design',
      'read:design',
    ]);
    expect(claims.scope).toBe('write:design read:design');
  });

  it('signs nothing with a next key: no active key for the algorithm is service_unavailable', async () => {
    const onlyNext = await loadSigningKeys({ keys: [keys.es256Next] }, NOW);
    if (!PLATFORM) throw new Error('fixture');
    const attempt = mintAccessToken({
      api: DESIGN,
      credential: PLATFORM,
      scopes: [],
      issuer: ISSUER,
      audience: ISSUER,
      keys: onlyNext,
      now: NOW,
    });
    await expect(attempt).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
  });
});

describe('verifyAccessToken accepts', () => {
  it('a token it minted, returning its claims', async () => {
    const { token, claims } = await mint();
    await expect(verifyAccessToken(token, verifyContext())).resolves.toEqual(claims);
  });

  it('a token signed by the next key (another replica may already have promoted it)', async () => {
    const token = await forge({ key: await privateKeyOf(keys.es256Next), kid: keys.es256Next.kid });
    await expect(verifyAccessToken(token, verifyContext())).resolves.toMatchObject({
      client_id: 'acme-platform',
    });
  });

  it('a token signed by a retired key until its retireAfter', async () => {
    const token = await forge({
      key: await privateKeyOf(keys.es256Retired),
      kid: keys.es256Retired.kid,
    });
    await expect(verifyAccessToken(token, verifyContext())).resolves.toBeTruthy();
    const afterRetirement = new Date(NOW.getTime() + 3600_000);
    const longLived = await forge({
      key: await privateKeyOf(keys.es256Retired),
      kid: keys.es256Retired.kid,
      claims: { exp: NOW_S + 7200 },
    });
    await expectInvalidToken(longLived, verifyContext(DESIGN, afterRetirement), /unknown key/);
  });

  it('a token just past exp, within the 5 s clock tolerance', async () => {
    const token = await forge({ claims: { exp: NOW_S - 3 } });
    await expect(verifyAccessToken(token, verifyContext())).resolves.toBeTruthy();
  });

  it('typ application/at+jwt (RFC 9068 allows the full media type)', async () => {
    const token = await forge({ header: { typ: 'application/at+jwt' } });
    await expect(verifyAccessToken(token, verifyContext())).resolves.toBeTruthy();
  });
});

describe('verifyAccessToken refuses every attack token with invalid_token', () => {
  it('alg none', async () => {
    const header = { alg: 'none', typ: 'at+jwt', kid: keys.es256Active.kid };
    const claims = decodeJwt((await mint()).token);
    await expectInvalidToken(`${b64(header)}.${b64(claims)}.`, verifyContext(), /algorithm/);
  });

  it('HS256 keyed with the public key (PEM and JWK)', async () => {
    const published = keys.loaded.jwks().keys.find((k) => k.kid === keys.es256Active.kid) as JWK;
    const publicKey = (await importJWK(published, 'ES256', { extractable: true })) as CryptoKey;
    for (const secret of [await exportSPKI(publicKey), JSON.stringify(published)]) {
      const token = await forge({
        header: { alg: 'HS256' },
        key: new TextEncoder().encode(secret),
      });
      await expectInvalidToken(token, verifyContext(), /algorithm/);
    }
  });

  it('the other algorithm, even signed by a real key of the environment', async () => {
    const token = await forge({
      header: { alg: 'RS256' },
      kid: keys.rs256Active.kid,
      key: await privateKeyOf(keys.rs256Active),
    });
    await expectInvalidToken(token, verifyContext(), /algorithm/);
  });

  it('a kid naming a key of another algorithm', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await forge({ kid: keys.rs256Active.kid, key: privateKey });
    await expectInvalidToken(token, verifyContext(), /wrong algorithm/);
  });

  it('an unknown kid, and no kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await expectInvalidToken(
      await forge({ kid: 'attacker-key', key: privateKey }),
      verifyContext(),
      /unknown key/,
    );
    const noKid = await new SignJWT(decodeJwt(await forge()))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .sign(await privateKeyOf(keys.es256Active));
    await expectInvalidToken(noKid, verifyContext(), /no signing key/);
  });

  it('a known kid with a signature from another key', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await expectInvalidToken(await forge({ key: privateKey }), verifyContext(), /signature/);
  });

  it('a key retired past its retireAfter', async () => {
    const token = await forge({
      key: await privateKeyOf(keys.es256Expired),
      kid: keys.es256Expired.kid,
    });
    await expectInvalidToken(token, verifyContext(), /unknown key/);
  });

  it('expired', async () => {
    const { token } = await mint(DESIGN, new Date(NOW.getTime() - 2 * 3600_000));
    await expectInvalidToken(token, verifyContext(), /expired/);
  });

  it('not yet valid (iat or nbf in the future beyond the tolerance)', async () => {
    const { token } = await mint(DESIGN, new Date(NOW.getTime() + 60_000));
    await expectInvalidToken(token, verifyContext(), /not valid yet/);
    await expectInvalidToken(
      await forge({ claims: { nbf: NOW_S + 60 } }),
      verifyContext(),
      /not valid yet/,
    );
  });

  it('a wrong issuer', async () => {
    await expectInvalidToken(
      await forge({ claims: { iss: 'https://evil.example/design-api/v1' } }),
      verifyContext(),
      /not issued by/,
    );
  });

  it('the audience of another Api', async () => {
    const otherAudience = apiIssuer(RECOMMENDATIONS, PUBLIC_URL);
    await expectInvalidToken(
      await forge({ claims: { aud: otherAudience } }),
      verifyContext(),
      /not meant for this API/,
    );
  });

  it("another Api's genuine token (same algorithm, same key)", async () => {
    const sameAlg = {
      ...RECOMMENDATIONS,
      tokens: { signingAlgorithm: 'ES256' as const, ttlSeconds: 600 },
    };
    const { token } = await mint(sameAlg, NOW, ['read:recommendations']);
    await expectInvalidToken(token);
  });

  it('a tampered payload', async () => {
    const { token } = await mint();
    const [header, , signature] = token.split('.');
    const claims = { ...decodeJwt(token), scope: 'read:design write:design' };
    await expectInvalidToken(`${header}.${b64(claims)}.${signature}`, verifyContext(), /signature/);
  });

  it('a tampered signature', async () => {
    const { token } = await mint();
    const [header, payload, signature = ''] = token.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    await expectInvalidToken(
      `${header}.${payload}.${bytes.toString('base64url')}`,
      verifyContext(),
      /signature/,
    );
  });

  it('a typ other than at+jwt (an ID token or a plain JWT), or none', async () => {
    await expectInvalidToken(await forge({ header: { typ: 'JWT' } }), verifyContext(), /at\+jwt/);
    const untyped = await new SignJWT(decodeJwt(await forge()))
      .setProtectedHeader({ alg: 'ES256', kid: keys.es256Active.kid })
      .sign(await privateKeyOf(keys.es256Active));
    await expectInvalidToken(untyped, verifyContext(), /at\+jwt/);
  });

  it('a missing required claim', async () => {
    for (const claim of ['client_id', 'jti', 'exp', 'sub', 'iat']) {
      const claims = { ...decodeJwt(await forge()) };
      delete claims[claim];
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.es256Active.kid })
        .sign(await privateKeyOf(keys.es256Active));
      await expectInvalidToken(token, verifyContext(), /required claim/);
    }
  });

  it('claims of the wrong type', async () => {
    await expectInvalidToken(
      await forge({ claims: { scope: ['read:design'] } }),
      verifyContext(),
      /malformed/,
    );
    await expectInvalidToken(
      await forge({ claims: { client_id: 42 } }),
      verifyContext(),
      /malformed/,
    );
  });

  it('garbage', async () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b.c', `${b64({ alg: 'ES256' })}.e30`]) {
      await expectInvalidToken(garbage, verifyContext(), /malformed/);
    }
  });
});

describe('verifyAccessToken with a verified-token cache', () => {
  const cached = (
    cache: VerifiedTokenCache,
    api: SnapshotApi = DESIGN,
    now = NOW,
    loaded = keys.loaded,
  ): VerifyAccessTokenContext => ({ ...verifyContext(api, now), keys: loaded, cache });

  it('remembers a verified token and answers it again with the same claims', async () => {
    const cache = createVerifiedTokenCache();
    const { token, claims } = await mint();
    await expect(verifyAccessToken(token, cached(cache))).resolves.toEqual(claims);
    expect(cache.size).toBe(1);
    await expect(verifyAccessToken(token, cached(cache))).resolves.toEqual(claims);
    expect(cache.size).toBe(1);
  });

  it('never remembers a refused token, and never answers a tampered copy of a remembered one', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    await verifyAccessToken(token, cached(cache));
    const [header, payload, signature = ''] = token.split('.');
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectInvalidToken(`${header}.${payload}.${flipped}`, cached(cache), /signature/);
    expect(cache.size).toBe(1);
  });

  it('refuses a remembered token once it expired', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    await verifyAccessToken(token, cached(cache));
    // Within the 5 s tolerance it still holds, as it did when first verified; past it, not.
    const atExpiry = new Date(NOW.getTime() + 3600_000 + 4_000);
    await expect(verifyAccessToken(token, cached(cache, DESIGN, atExpiry))).resolves.toBeTruthy();
    const pastExpiry = new Date(NOW.getTime() + 3600_000 + 5_000);
    await expectInvalidToken(token, cached(cache, DESIGN, pastExpiry), /expired/);
    expect(cache.size).toBe(0);
  });

  it('refuses a remembered token once its key left the key set', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    await verifyAccessToken(token, cached(cache));
    const withoutIt = await loadSigningKeys(
      { keys: keys.set.filter((key) => key.kid !== keys.es256Active.kid) },
      NOW,
    );
    await expectInvalidToken(token, cached(cache, DESIGN, NOW, withoutIt), /unknown key/);
  });

  it('takes nothing on trust from another key set, even one with the same key under the same kid', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    await verifyAccessToken(token, cached(cache));
    // The same kid now names an attacker's key: the remembered verification does not carry over.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const impostor = {
      ...keys.es256Active,
      privateJwk: { ...(await exportJWK(privateKey)), kid: keys.es256Active.kid, alg: 'ES256' },
    };
    const swapped = await loadSigningKeys(
      { keys: keys.set.map((key) => (key.kid === impostor.kid ? impostor : key)) },
      NOW,
    );
    await expectInvalidToken(token, cached(cache, DESIGN, NOW, swapped), /signature/);
  });

  it('refuses a remembered token of a retired key once past its retireAfter', async () => {
    const cache = createVerifiedTokenCache();
    const token = await forge({
      key: await privateKeyOf(keys.es256Retired),
      kid: keys.es256Retired.kid,
      claims: { exp: NOW_S + 7200 },
    });
    await expect(verifyAccessToken(token, cached(cache))).resolves.toBeTruthy();
    const afterRetirement = new Date(NOW.getTime() + 3600_000);
    await expectInvalidToken(token, cached(cache, DESIGN, afterRetirement), /unknown key/);
  });

  it("refuses a remembered token at another Api, or once its Api's algorithm changed", async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    await verifyAccessToken(token, cached(cache));
    await expectInvalidToken(token, cached(cache, BILLING));
    const rsDesign = {
      ...DESIGN,
      tokens: { signingAlgorithm: 'RS256' as const, ttlSeconds: 3600 },
    };
    await expectInvalidToken(token, cached(cache, rsDesign), /algorithm/);
  });

  it('verifies a token that concurrent requests present at once only once', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verifyAccessToken(token, cached(cache))),
    );
    // One verification built the claims; the others read them from the cache.
    expect(new Set(results).size).toBe(1);
    expect(cache.inFlight(token)).toBeUndefined();
  });

  it('does not hand a concurrent verification to a request for another Api', async () => {
    const cache = createVerifiedTokenCache();
    const { token } = await mint();
    const [design, billing] = await Promise.allSettled([
      verifyAccessToken(token, cached(cache)),
      verifyAccessToken(token, cached(cache, BILLING)),
    ]);
    expect(design?.status).toBe('fulfilled');
    expect(billing?.status).toBe('rejected');
  });

  it('keeps at most its bound, evicting the least recently used token', async () => {
    const cache = createVerifiedTokenCache(2);
    const [a, b, c] = await Promise.all([mint(), mint(), mint()]);
    if (!a || !b || !c) throw new Error('minting failed');
    await verifyAccessToken(a.token, cached(cache));
    await verifyAccessToken(b.token, cached(cache));
    await verifyAccessToken(a.token, cached(cache)); // a is now the most recent
    await verifyAccessToken(c.token, cached(cache));
    expect(cache.size).toBe(2);
    expect(cache.get(a.token)).toBeDefined();
    expect(cache.get(b.token)).toBeUndefined();
    expect(cache.get(c.token)).toBeDefined();
  });
});
