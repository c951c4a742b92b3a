import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/src/errors.ts';
import {
  createVerifiedTokenCache,
  type VerifiedTokenCache,
} from '../../../gateway/src/oauth/access-token.ts';
import { authenticateBearerToken, type BearerContext } from '../../../gateway/src/oauth/bearer.ts';
import { loadSigningKeys } from '../../../gateway/src/oauth/keys.ts';
import { handleTokenRequest } from '../../../gateway/src/oauth/token-endpoint.ts';
import type { LoadedSnapshot } from '../../../gateway/src/snapshot/loaded.ts';
import type { SnapshotApi } from '../../../gateway/src/snapshot/schema.ts';
import {
  DESIGN,
  NOW,
  PUBLIC_URL,
  RECOMMENDATIONS,
  secretOf,
  snapshotOf,
  type TestKeys,
  testKeys,
  withCredential,
} from './fixtures.ts';

let keys: TestKeys;
beforeAll(async () => {
  keys = await testKeys();
});

function context(api: SnapshotApi = DESIGN, loaded: LoadedSnapshot = snapshotOf()): BearerContext {
  return { api, loaded, keys: keys.loaded, publicUrl: PUBLIC_URL, now: NOW };
}

/** A token minted through the real token endpoint (client_secret_post). */
async function tokenFor(name: string, api: SnapshotApi = DESIGN, scope?: string): Promise<string> {
  const form: Record<string, string> = {
    grant_type: 'client_credentials',
    client_id: name,
    client_secret: secretOf(name),
  };
  if (scope !== undefined) form.scope = scope;
  const response = await handleTokenRequest(
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      query: new URLSearchParams(),
      body: new URLSearchParams(form).toString(),
    },
    { api, loaded: snapshotOf(), keys: keys.loaded, publicUrl: PUBLIC_URL, now: NOW },
  );
  if (response.status !== 200) throw new Error(`token request failed: ${response.body}`);
  return (JSON.parse(response.body) as { access_token: string }).access_token;
}

async function expectInvalidToken(
  token: string,
  ctx: BearerContext,
  description?: RegExp,
): Promise<void> {
  const error = await authenticateBearerToken(token, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect(error).toMatchObject({ code: 'invalid_token', status: 401 });
  expect((error as GatewayError).message).not.toContain(token);
  if (description) expect((error as GatewayError).message).toMatch(description);
}

describe('authenticateBearerToken', () => {
  it('authenticates a token minted for this Api, with its credential, grant and scopes', async () => {
    const token = await tokenFor('acme-platform');
    const result = await authenticateBearerToken(token, context());
    expect(result.clientId).toBe('acme-platform');
    expect(result.subject).toBe('acme-platform');
    expect(result.credential.id).toBe('acme/acme-platform');
    expect(result.grant).toMatchObject({ apiId: DESIGN.id, productId: 'platform/apiway-platform' });
    expect(result.scopes).toEqual(['read:design', 'write:design']);
  });

  it('does not depend on a trailing slash in publicUrl', async () => {
    const token = await tokenFor('acme-direct');
    await expect(
      authenticateBearerToken(token, { ...context(), publicUrl: `${PUBLIC_URL}/` }),
    ).resolves.toBeTruthy();
  });

  it('accepts a Product member token only at the Api it was minted for', async () => {
    const recommendationsToken = await tokenFor('acme-platform', RECOMMENDATIONS);
    await expect(
      authenticateBearerToken(recommendationsToken, context(RECOMMENDATIONS)),
    ).resolves.toMatchObject({
      scopes: ['read:recommendations'],
    });
    await expectInvalidToken(recommendationsToken, context(DESIGN));
    const designToken = await tokenFor('acme-platform', DESIGN);
    await expectInvalidToken(designToken, context(RECOMMENDATIONS));
  });

  it('refuses a token whose aud is another Api even with this Api issuer', async () => {
    // An Api whose explicit audience differs from the one the token was minted with.
    const token = await tokenFor('acme-direct');
    const renamedAudience = { ...DESIGN, audience: 'api://design' };
    await expectInvalidToken(token, context(renamedAudience), /not meant for this API/);
  });

  it('refuses tokens of issuers it does not trust (external IdPs are not accepted yet)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ client_id: 'acme-direct', scope: 'read:design' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'idp-key' })
      .setIssuer('https://login.example.com/tenant/v2.0')
      .setAudience(`${PUBLIC_URL}${DESIGN.basePath}`)
      .setSubject('user-1')
      .setIssuedAt(Math.floor(NOW.getTime() / 1000))
      .setExpirationTime(Math.floor(NOW.getTime() / 1000) + 600)
      .setJti('j')
      .sign(privateKey);
    await expectInvalidToken(foreign, context(), /issuer this API trusts/);
  });

  it('refuses garbage and alg none', async () => {
    await expectInvalidToken('garbage', context(), /malformed/);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({
      iss: `${PUBLIC_URL}${DESIGN.basePath}`,
      aud: `${PUBLIC_URL}${DESIGN.basePath}`,
      sub: 'acme-direct',
      client_id: 'acme-direct',
      scope: 'read:design',
      iat: Math.floor(NOW.getTime() / 1000),
      exp: Math.floor(NOW.getTime() / 1000) + 600,
      jti: 'j',
    })}.`;
    await expectInvalidToken(none, context());
  });
});

describe('revocation through the snapshot (takes effect at the next reload)', () => {
  it('the Subscription was deleted: its tokens stop working', async () => {
    const token = await tokenFor('acme-direct');
    await expectInvalidToken(
      token,
      context(
        DESIGN,
        withCredential('acme-direct', () => undefined),
      ),
      /revoked/,
    );
  });

  it('the Subscription was suspended: its tokens stop working', async () => {
    const token = await tokenFor('acme-direct');
    const suspended = withCredential('acme-direct', (c) => ({ ...c, suspended: true }));
    await expectInvalidToken(token, context(DESIGN, suspended), /suspended/);
  });

  it('the suspension was lifted: tokens minted before it stay revoked, new ones work', async () => {
    const token = await tokenFor('acme-direct');
    const resumed = withCredential('acme-direct', (c) => ({
      ...c,
      tokensNotBefore: new Date(NOW.getTime() + 1000).toISOString(),
    }));
    await expectInvalidToken(token, context(DESIGN, resumed), /revoked/);
    const resumedEarlier = withCredential('acme-direct', (c) => ({
      ...c,
      tokensNotBefore: new Date(NOW.getTime() - 60_000).toISOString(),
    }));
    await expect(
      authenticateBearerToken(token, context(DESIGN, resumedEarlier)),
    ).resolves.toMatchObject({ clientId: expect.any(String) });
  });

  it('the Product no longer contains the Api: the member token stops working there, not elsewhere', async () => {
    const designToken = await tokenFor('acme-platform', DESIGN);
    const recommendationsToken = await tokenFor('acme-platform', RECOMMENDATIONS);
    const shrunk = withCredential('acme-platform', (c) => ({
      ...c,
      grants: c.grants.filter((g) => g.apiId !== DESIGN.id),
    }));
    await expectInvalidToken(designToken, context(DESIGN, shrunk), /revoked/);
    await expect(
      authenticateBearerToken(recommendationsToken, context(RECOMMENDATIONS, shrunk)),
    ).resolves.toBeTruthy();
  });

  it('a scope removed from the Subscription is dropped at once from tokens that carry it', async () => {
    const token = await tokenFor('acme-platform', DESIGN, 'read:design write:design');
    const narrowed = withCredential('acme-platform', (c) => ({
      ...c,
      grants: c.grants.map((g) => (g.apiId === DESIGN.id ? { ...g, scopes: ['read:design'] } : g)),
    }));
    const result = await authenticateBearerToken(token, context(DESIGN, narrowed));
    expect(result.scopes).toEqual(['read:design']);
    expect(result.claims.scope).toBe('read:design write:design');
  });

  it('a scope the Api stops declaring is dropped too', async () => {
    const token = await tokenFor('acme-platform', DESIGN);
    const api = { ...DESIGN, declaredScopes: ['read:design'] };
    const result = await authenticateBearerToken(token, context(api));
    expect(result.scopes).toEqual(['read:design']);
  });

  it('a token keeps working while nothing changed (a reload of the same objects)', async () => {
    const token = await tokenFor('acme-direct');
    await expect(
      authenticateBearerToken(token, context(DESIGN, snapshotOf())),
    ).resolves.toMatchObject({
      clientId: 'acme-direct',
      scopes: ['read:design'],
    });
  });
});

describe('revocation of a token the verified-token cache already holds (effective at once)', () => {
  let cache: VerifiedTokenCache;
  /** `acme-direct`'s token, authenticated once so that the cache holds it. */
  async function rememberedToken(): Promise<string> {
    cache = createVerifiedTokenCache();
    const token = await tokenFor('acme-direct');
    await expect(authenticateBearerToken(token, cached())).resolves.toMatchObject({
      clientId: 'acme-direct',
    });
    expect(cache.size).toBe(1);
    return token;
  }
  const cached = (loaded: LoadedSnapshot = snapshotOf(), now = NOW): BearerContext => ({
    ...context(DESIGN, loaded),
    now,
    verifiedTokens: cache,
  });

  it('keeps authenticating it while nothing changed, with the current grant', async () => {
    const token = await rememberedToken();
    await expect(authenticateBearerToken(token, cached())).resolves.toMatchObject({
      clientId: 'acme-direct',
      scopes: ['read:design'],
    });
  });

  it('the Subscription was deleted', async () => {
    const token = await rememberedToken();
    const deleted = withCredential('acme-direct', () => undefined);
    await expectInvalidToken(token, cached(deleted), /revoked/);
  });

  it('the Subscription was suspended, then resumed (tokensNotBefore)', async () => {
    const token = await rememberedToken();
    const suspended = withCredential('acme-direct', (c) => ({ ...c, suspended: true }));
    await expectInvalidToken(token, cached(suspended), /suspended/);
    const resumed = withCredential('acme-direct', (c) => ({
      ...c,
      tokensNotBefore: new Date(NOW.getTime() + 1000).toISOString(),
    }));
    await expectInvalidToken(token, cached(resumed), /revoked/);
  });

  it('the grant on this Api was removed, or a scope taken away', async () => {
    const token = await tokenFor('acme-platform', DESIGN, 'read:design write:design');
    cache = createVerifiedTokenCache();
    await authenticateBearerToken(token, cached());
    const narrowed = withCredential('acme-platform', (c) => ({
      ...c,
      grants: c.grants.map((g) => (g.apiId === DESIGN.id ? { ...g, scopes: ['read:design'] } : g)),
    }));
    await expect(authenticateBearerToken(token, cached(narrowed))).resolves.toMatchObject({
      scopes: ['read:design'],
    });
    const ungranted = withCredential('acme-platform', (c) => ({
      ...c,
      grants: c.grants.filter((g) => g.apiId !== DESIGN.id),
    }));
    await expectInvalidToken(token, cached(ungranted), /revoked/);
  });

  it('the token expired', async () => {
    const token = await rememberedToken();
    const later = new Date(NOW.getTime() + 2 * 3600_000);
    await expectInvalidToken(token, cached(snapshotOf(), later), /expired/);
  });

  it('its signing key was removed from the key set', async () => {
    const token = await rememberedToken();
    const withoutIt = await loadSigningKeys(
      { keys: keys.set.filter((key) => key.kid !== keys.es256Active.kid) },
      NOW,
    );
    await expectInvalidToken(token, { ...cached(), keys: withoutIt }, /unknown key/);
  });

  it('is presented to another Api', async () => {
    const token = await rememberedToken();
    await expectInvalidToken(token, { ...cached(), api: RECOMMENDATIONS }, /issuer/);
  });
});
