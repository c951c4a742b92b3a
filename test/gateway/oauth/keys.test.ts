import {
  type CryptoKey,
  calculateJwkThumbprint,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, loadSigningKeys } from '../../../gateway/src/oauth/keys.ts';
import { NOW, privateKeyOf, type TestKeys, testKeys } from './fixtures.ts';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let keys: TestKeys;
beforeAll(async () => {
  keys = await testKeys();
});

describe('generateSigningKey', () => {
  it('makes an ES256 P-256 key whose kid is its RFC 7638 thumbprint', async () => {
    const key = await generateSigningKey('ES256', 'next');
    expect(key).toMatchObject({ alg: 'ES256', state: 'next' });
    expect(key.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.kid });
    expect(typeof key.privateJwk.d).toBe('string');
    const { kty, crv, x, y } = key.privateJwk;
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y } as JWK));
  });

  it('makes a 2048-bit RS256 key whose kid is its RFC 7638 thumbprint', async () => {
    const key = await generateSigningKey('RS256', 'active');
    expect(key.privateJwk.kty).toBe('RSA');
    expect(Buffer.from(key.privateJwk.n ?? '', 'base64url').length * 8).toBe(2048);
    const { kty, n, e } = key.privateJwk;
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty, n, e } as JWK));
  });

  it('records retireAfter for a retired key', async () => {
    const key = await generateSigningKey('ES256', 'retired', {
      retireAfter: '2030-01-01T00:00:00Z',
    });
    expect(key.retireAfter).toBe('2030-01-01T00:00:00Z');
  });
});

describe('loadSigningKeys: JWKS', () => {
  it('publishes next, active and still-trusted retired keys, not expired retired ones', () => {
    const kids = keys.loaded.jwks().keys.map((k) => k.kid);
    expect(kids.sort()).toEqual(
      [
        keys.es256Active.kid,
        keys.rs256Active.kid,
        keys.es256Next.kid,
        keys.es256Retired.kid,
      ].sort(),
    );
    expect(kids).not.toContain(keys.es256Expired.kid);
  });

  it('publishes no private member, and kid, alg and use on every key', () => {
    for (const jwk of keys.loaded.jwks().keys) {
      for (const member of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(member);
      expect(jwk.use).toBe('sig');
      expect(['ES256', 'RS256']).toContain(jwk.alg);
      expect(typeof jwk.kid).toBe('string');
    }
    const rsa = keys.loaded.jwks().keys.find((k) => k.kid === keys.rs256Active.kid);
    expect(Object.keys(rsa ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    const ec = keys.loaded.jwks().keys.find((k) => k.kid === keys.es256Active.kid);
    expect(Object.keys(ec ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it('strips private members even when the stored JWK carries extra ones', async () => {
    const key = await generateSigningKey('ES256', 'active');
    key.privateJwk = { ...key.privateJwk, k: 'c2VjcmV0', p: 'x', q: 'y' };
    const loaded = await loadSigningKeys({ keys: [key] }, NOW);
    const [published] = loaded.jwks().keys;
    for (const member of PRIVATE_MEMBERS) expect(published).not.toHaveProperty(member);
  });

  it('the published keys verify what the active keys sign', async () => {
    for (const active of [keys.es256Active, keys.rs256Active]) {
      const signer = keys.loaded.signingKey(active.alg);
      expect(signer?.kid).toBe(active.kid);
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: active.alg, kid: active.kid })
        .sign(signer?.key as CryptoKey);
      const published = keys.loaded.jwks().keys.find((k) => k.kid === active.kid) as JWK;
      await expect(jwtVerify(jwt, await importJWK(published, active.alg))).resolves.toBeTruthy();
    }
  });

  it('drops a retired key from the JWKS once its retireAfter passes', () => {
    const later = new Date(NOW.getTime() + 2 * 3600_000);
    expect(keys.loaded.jwks(later).keys.map((k) => k.kid)).not.toContain(keys.es256Retired.kid);
  });
});

describe('loadSigningKeys: signing and verification', () => {
  it('signs only with the active key of each algorithm, never the next key', () => {
    expect(keys.loaded.signingKey('ES256')?.kid).toBe(keys.es256Active.kid);
    expect(keys.loaded.signingKey('RS256')?.kid).toBe(keys.rs256Active.kid);
    const onlyNext = loadSigningKeys({ keys: [keys.es256Next] }, NOW);
    return expect(onlyNext.then((l) => l.signingKey('ES256'))).resolves.toBeUndefined();
  });

  it('signs with the key set it was loaded from: a reloaded set signs with its new active key', async () => {
    const first = await generateSigningKey('ES256', 'active');
    const second = await generateSigningKey('ES256', 'active');
    const before = await loadSigningKeys({ keys: [first] }, NOW);
    const after = await loadSigningKeys({ keys: [{ ...first, state: 'next' }, second] }, NOW);
    const claims = { sub: 'someone', iat: Math.floor(NOW.getTime() / 1000) };
    for (const [loaded, key] of [
      [before, first],
      [after, second],
    ] as const) {
      const jwt = (await loaded.signingKey('ES256')?.signJwt(claims, 'at+jwt')) ?? '';
      const published = loaded.jwks().keys.find((k) => k.kid === key.kid) as JWK;
      const { payload, protectedHeader } = await jwtVerify(
        jwt,
        await importJWK(published, 'ES256'),
      );
      expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: key.kid });
      expect(payload).toEqual(claims);
    }
  });

  it('verifies with next, active and trusted retired keys; not expired retired or unknown kids', () => {
    for (const key of [keys.es256Active, keys.rs256Active, keys.es256Next, keys.es256Retired]) {
      expect(keys.loaded.verificationKey(key.kid)?.alg).toBe(key.alg);
    }
    expect(keys.loaded.verificationKey(keys.es256Expired.kid)).toBeUndefined();
    expect(keys.loaded.verificationKey('no-such-kid')).toBeUndefined();
  });

  it('stops trusting a retired key at its retireAfter, even without a reload', () => {
    const atRetirement = new Date(NOW.getTime() + 3600_000);
    expect(
      keys.loaded.verificationKey(keys.es256Retired.kid, new Date(atRetirement.getTime() - 1)),
    ).toBeDefined();
    expect(keys.loaded.verificationKey(keys.es256Retired.kid, atRetirement)).toBeUndefined();
  });

  it('gives public keys for verification, never the private key', async () => {
    const verification = keys.loaded.verificationKey(keys.es256Active.kid);
    expect(verification?.key.type).toBe('public');
    expect(keys.loaded.signingKey('ES256')?.key.type).toBe('private');
    expect(keys.loaded.signingKey('ES256')?.key.extractable).toBe(false);
    // The private key of a stored JWK is still usable by the test helper (sanity of fixtures).
    expect((await privateKeyOf(keys.es256Active)).type).toBe('private');
  });

  it('does not trust a retired key that has no retireAfter', async () => {
    const retired = await generateSigningKey('ES256', 'retired');
    const loaded = await loadSigningKeys({ keys: [retired] }, NOW);
    expect(loaded.verificationKey(retired.kid)).toBeUndefined();
    expect(loaded.jwks().keys).toEqual([]);
  });
});

describe('loadSigningKeys: refuses unusable key sets', () => {
  it('two active keys for one algorithm', async () => {
    const second = await generateSigningKey('ES256', 'active');
    await expect(loadSigningKeys({ keys: [keys.es256Active, second] }, NOW)).rejects.toThrow(
      /second active ES256/,
    );
  });

  it('a duplicate kid', async () => {
    await expect(
      loadSigningKeys({ keys: [keys.es256Next, { ...keys.es256Next }] }, NOW),
    ).rejects.toThrow(/duplicate kid/);
  });

  it('a JWK that does not fit its algorithm', async () => {
    const mislabelled = { ...keys.rs256Active, alg: 'ES256' as const, state: 'next' as const };
    await expect(loadSigningKeys({ keys: [mislabelled] }, NOW)).rejects.toThrow(/EC P-256/);
  });

  it('an active key without its private part', async () => {
    const { d: _d, ...publicOnly } = keys.es256Active.privateJwk;
    await expect(
      loadSigningKeys({ keys: [{ ...keys.es256Active, privateJwk: publicOnly }] }, NOW),
    ).rejects.toThrow(/private part/);
  });

  it('never puts key material in its error message', async () => {
    const broken = {
      ...keys.es256Active,
      privateJwk: { ...keys.es256Active.privateJwk, x: 'AAAA' },
    };
    const error = await loadSigningKeys({ keys: [broken] }, NOW).then(
      () => new Error('loaded'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/cannot be imported/);
    expect(error.message).not.toContain(keys.es256Active.privateJwk.d as string);
    expect(error.message).toContain(keys.es256Active.kid);
  });
});
