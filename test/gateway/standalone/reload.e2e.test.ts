/**
 * Editing the config dir of a running gateway: changes are served without a restart, revoking
 * works by editing or deleting a file, and a broken edit is reported while everything else
 * (including the last good version of what broke) keeps working (SPEC.md, "Standalone").
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import {
  ACME_NARROW,
  ACME_PLATFORM,
  type ConfigFixture,
  call,
  createConfigFixture,
  DESIGN,
  designApiYaml,
  designOpenApi,
  mintToken,
  PRODUCT_YAML,
  RECOMMENDATIONS,
  readCredentials,
  recommendationsApiYaml,
  subscriptionYaml,
} from './fixtures.ts';

let backend: EchoBackend;
let fixture: ConfigFixture;
let gateway: GatewayProcess;

beforeEach(async () => {
  backend = await startEchoBackend();
  fixture = await createConfigFixture({
    'design-api.yaml': designApiYaml(backend.url),
    'recommendations-api.yaml': recommendationsApiYaml(backend.url),
    'product.yaml': PRODUCT_YAML,
    'acme-platform.yaml': ACME_PLATFORM,
    'acme-narrow.yaml': ACME_NARROW,
  });
  gateway = await startGatewayProcess({ configDir: fixture.configDir, stateDir: fixture.stateDir });
});

afterEach(async () => {
  await gateway?.stop();
  await backend?.close();
  await fixture?.cleanup();
});

/** Applies a change to the dir and waits until the gateway serves the resulting snapshot. */
async function change(edit: () => Promise<void>): Promise<void> {
  const before = await gateway.version();
  await edit();
  await gateway.waitForReload(before);
}

describe('revoking', () => {
  it('suspending a Subscription in its file stops its API keys and the tokens already minted', async () => {
    const platform = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const designToken = await mintToken(gateway.url, DESIGN, platform);
    const recommendationsToken = await mintToken(gateway.url, RECOMMENDATIONS, platform);
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKey })).status).toBe(
      200,
    );

    await change(() =>
      fixture.write(
        'acme-platform.yaml',
        subscriptionYaml(
          'acme-platform',
          'product: {name: apiway-platform, namespace: platform}',
          ['read:design', 'read:recommendations'],
          { suspended: true },
        ),
      ),
    );

    expect((await call(gateway.url, `${DESIGN}/designs`, { token: designToken })).status).toBe(401);
    expect(
      (
        await call(gateway.url, `${RECOMMENDATIONS}/recommendations`, {
          token: recommendationsToken,
        })
      ).status,
    ).toBe(401);
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKey })).status).toBe(
      401,
    );
    expect(
      (await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKeySecondary })).status,
    ).toBe(401);
    const token = await mintToken(gateway.url, DESIGN, platform).catch(
      (error: Error) => error.message,
    );
    expect(token).toContain('invalid_client');

    // Others are untouched.
    const narrow = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: narrow.apiKey })).status).toBe(
      200,
    );
  });

  it('lifting a suspension brings back the API keys, never the tokens it revoked', async () => {
    const platform = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const revoked = await mintToken(gateway.url, DESIGN, platform);
    const write = (extra: { suspended?: boolean }) =>
      change(() =>
        fixture.write(
          'acme-platform.yaml',
          subscriptionYaml(
            'acme-platform',
            'product: {name: apiway-platform, namespace: platform}',
            ['read:design', 'read:recommendations'],
            extra,
          ),
        ),
      );
    await write({ suspended: true });
    expect((await call(gateway.url, `${DESIGN}/designs`, { token: revoked })).status).toBe(401);
    // Tokens carry whole seconds: let the resume happen in a later second than the mint.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await write({});

    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKey })).status).toBe(
      200,
    );
    expect((await call(gateway.url, `${DESIGN}/designs`, { token: revoked })).status).toBe(401);
    const fresh = await mintToken(gateway.url, DESIGN, platform);
    expect((await call(gateway.url, `${DESIGN}/designs`, { token: fresh })).status).toBe(200);
  });

  it('deleting a Subscription file stops its API keys and tokens, and deletes its credentials', async () => {
    const narrow = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
    const token = await mintToken(gateway.url, DESIGN, narrow);
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(200);

    await change(() => fixture.remove('acme-narrow.yaml'));

    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(401);
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: narrow.apiKey })).status).toBe(
      401,
    );
    await expect(readCredentials(fixture.stateDir, 'acme/acme-narrow')).rejects.toThrow(
      /no credentials/,
    );

    // Created again, it is a new Subscription: new credentials, the old token stays dead.
    await change(() => fixture.write('acme-narrow.yaml', ACME_NARROW));
    const again = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
    expect(again.clientId).not.toBe(narrow.clientId);
    expect(again.clientSecret).not.toBe(narrow.clientSecret);
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(401);
  });
});

describe('hot reload', () => {
  it('serves an OpenAPI change: a new operation appears, with its own security', async () => {
    const platform = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const token = await mintToken(gateway.url, DESIGN, platform);
    expect((await call(gateway.url, `${DESIGN}/designs/7/comments`, { token })).status).toBe(404);

    const comments = `  /designs/{id}/comments:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      security: []
      responses: {'200': {description: ok}}
`;
    await change(() =>
      fixture.write('design-api.yaml', designApiYaml(backend.url, designOpenApi(comments))),
    );

    const anonymous = await call(gateway.url, `${DESIGN}/designs/7/comments`);
    expect(anonymous.status).toBe(200);
    expect(backend.requests.at(-1)?.url).toBe('/designs/7/comments');
    // The token minted before the reload still works where it did.
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(200);
  });

  it('prints the credentials of a Subscription added while running, and serves them', async () => {
    await change(() =>
      fixture.write(
        'acme-late.yaml',
        subscriptionYaml('acme-late', 'api: {name: design-api, namespace: platform}', [
          'read:design',
        ]),
      ),
    );
    const late = await readCredentials(fixture.stateDir, 'acme/acme-late');
    await gateway.waitForOutput((output) => output.includes(late.clientSecret));
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: late.apiKey })).status).toBe(
      200,
    );
  });
});

describe('a broken edit', () => {
  it('is reported (file, object, why) and the rest keeps serving, the broken object on its last good version', async () => {
    const platform = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const token = await mintToken(gateway.url, DESIGN, platform);

    // A schema violation in one object: the API server's words, naming the file and the object.
    await fixture.write(
      'design-api.yaml',
      designApiYaml(backend.url).replace('basePath: /design-api/v1', 'basePath: design-api/v1'),
    );
    await gateway.waitForOutput((output) =>
      output.includes('design-api.yaml (document 1) Api platform/design-api: spec.basePath'),
    );
    const reported = gateway.logs().find((line) => String(line.msg).includes('spec.basePath'));
    expect(reported?.level).toBe(50);
    expect(String(reported?.msg)).toContain('still serving its last good version');
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(200);

    // A file that is not even YAML: its objects keep their last good versions too.
    await fixture.write('acme-platform.yaml', 'kind: Subscription\nspec: [unclosed\n');
    await gateway.waitForOutput((output) => output.includes('acme-platform.yaml: not valid YAML'));
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKey })).status).toBe(
      200,
    );

    // An OpenAPI document that no longer parses: the Api keeps its last good document.
    await fixture.write(
      'design-api.yaml',
      designApiYaml(backend.url, 'openapi: 3.1.0\npaths: 12\n'),
    );
    await gateway.waitForOutput((output) => output.includes('OpenAPI document is invalid'));
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(200);

    // Unrelated changes are still picked up meanwhile.
    await change(() => fixture.remove('acme-narrow.yaml'));
    expect((await call(gateway.url, `${DESIGN}/designs`, { token })).status).toBe(200);

    // Fixing the files serves the fixed versions.
    await fixture.write('acme-platform.yaml', ACME_PLATFORM);
    await change(() =>
      fixture.write(
        'design-api.yaml',
        designApiYaml(backend.url).replace('/design-api/v1', '/design-api/v2'),
      ),
    );
    expect(
      (await call(gateway.url, '/design-api/v2/catalog', { apiKey: platform.apiKey })).status,
    ).toBe(200);
  });

  it('of an object that never was valid keeps it out, with the reason logged', async () => {
    await fixture.write(
      'acme-bad.yaml',
      subscriptionYaml('acme-bad', 'api: {name: design-api, namespace: platform}', [
        'read:design',
      ]).replace('scopes:', 'scopez:'),
    );
    await gateway.waitForOutput((output) => output.includes('Subscription acme/acme-bad'));
    const line = gateway.logs().find((l) => String(l.msg).includes('Subscription acme/acme-bad'));
    expect(String(line?.msg)).toMatch(/scopez.*not served until fixed/);
    await expect(readCredentials(fixture.stateDir, 'acme/acme-bad')).rejects.toThrow();
  });
});
