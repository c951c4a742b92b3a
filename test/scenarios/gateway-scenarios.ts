/**
 * End-to-end scenarios of Kubernetes mode, written once and run in two places:
 * - test/chart/chart.int.test.ts: the operator and gateway processes run here, against the test
 *   control plane, with the chart's RBAC and command lines;
 * - test/kind/gateway.kind-test.ts: the chart installed in a kind cluster, the gateway reached
 *   through its Service (`npm run e2e:kind`, where Docker runs).
 *
 * What a platform team and its consumers see: `kubectl apply` of Apis, a Product and
 * Subscriptions; credential Secrets; Accepted and Ready conditions; tokens and API keys through
 * the gateway; edits, suspension, rotation and deletion taking effect.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { send, type TestResponse } from '../support/http-client.ts';
import {
  type ApiwayPlural,
  type ClusterAccess,
  clusterAccess,
  condition,
  eventually,
  type ObservedObject,
  secretValue,
} from './cluster-access.ts';

export interface ScenarioTarget {
  /** A kubeconfig allowed to apply Apiway objects and read Secrets in `namespace`. */
  kubeconfig: string;
  /** An existing namespace for the scenarios' objects. */
  namespace: string;
  /** The environment the gateways serve. */
  environment: string;
  /** Where this test process reaches the gateway (a local port, a node port...). */
  gatewayUrl: string;
  /** The gateway's --public-url: token issuers and the `token_url` of credential Secrets. */
  publicUrl: string;
  /** A backend the gateway can reach that answers every request with the JSON of what it received. */
  backendUrl: string;
  /** Gateway replicas serving the environment (what `status.replicas` must say). */
  replicas: number;
}

/** What the echo backend answers: the request as it arrived. */
interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
}

function openapi(paths: readonly string[]): string {
  return [
    'openapi: 3.1.0',
    'info: {title: Scenario API, version: "1"}',
    'components:',
    '  securitySchemes:',
    '    oauth2:',
    '      type: oauth2',
    '      flows:',
    '        clientCredentials:',
    '          tokenUrl: /oauth2/v2/token',
    '          scopes: {read: read, write: write}',
    '    apiKey: {type: apiKey, in: header, name: x-api-key}',
    'security:',
    '  - oauth2: [read]',
    '  - apiKey: []',
    'paths:',
    ...paths.map((path) => `  ${path}: {get: {responses: {'200': {description: ok}}}}`),
    '',
  ].join('\n');
}

/** Registers the scenarios in a `describe`; `target` is read once the file's hooks ran. */
export function describeGatewayScenarios(title: string, target: () => ScenarioTarget): void {
  describe(title, () => {
    let t: ScenarioTarget;
    let cluster: ClusterAccess;

    const api = (name: string, basePath: string, paths: string[], document?: string) => ({
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Api',
      metadata: { name, namespace: t.namespace },
      spec: {
        basePath,
        environments: [t.environment],
        backend: { url: t.backendUrl },
        openapi: { inline: document ?? openapi(paths) },
      },
    });
    const subscription = (
      name: string,
      target: { api: string } | { product: string },
      extra: Record<string, unknown> = {},
    ) => ({
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Subscription',
      metadata: { name, namespace: t.namespace },
      spec: {
        ...('api' in target
          ? { api: { name: target.api } }
          : { product: { name: target.product } }),
        ...extra,
      },
    });
    const itemsApi = (paths = ['/items']) => api('items-api', '/items/v1', paths);
    const direct = (extra: Record<string, unknown> = {}) =>
      subscription('direct', { api: 'items-api' }, extra);

    const describeStatus = (plural: ApiwayPlural, name: string) => async () =>
      JSON.stringify((await cluster.get(plural, t.namespace, name))?.status ?? null, null, 2);

    /** Ready=True at the current generation, served by every gateway replica. */
    const waitReady = (plural: ApiwayPlural, name: string): Promise<ObservedObject> =>
      eventually(
        async () => {
          const object = await cluster.get(plural, t.namespace, name);
          const ready = condition(object, 'Ready');
          return ready?.status === 'True' &&
            ready.observedGeneration === object?.metadata.generation &&
            object?.status?.replicas === t.replicas &&
            object?.status?.readyReplicas === t.replicas
            ? object
            : undefined;
        },
        { describe: describeStatus(plural, name) },
      );

    const waitCondition = (plural: ApiwayPlural, name: string, type: string, status: string) =>
      eventually(
        async () => {
          const object = await cluster.get(plural, t.namespace, name);
          const found = condition(object, type);
          return found?.status === status &&
            found.observedGeneration === object?.metadata.generation
            ? found
            : undefined;
        },
        { describe: describeStatus(plural, name) },
      );

    const credentials = async (name: string) => {
      const secret = await eventually(() => cluster.secret(t.namespace, `${name}-credentials`));
      return {
        secret,
        clientId: secretValue(secret, 'client_id') as string,
        clientSecret: secretValue(secret, 'client_secret') as string,
        apiKey: secretValue(secret, 'api_key') as string,
        apiKeySecondary: secretValue(secret, 'api_key_secondary') as string,
      };
    };

    const call = (path: string, headers: Record<string, string> = {}): Promise<TestResponse> =>
      send(t.gatewayUrl, { path, headers });
    const token = async (basePath: string, clientId: string, clientSecret: string) => {
      const response = await send(t.gatewayUrl, {
        method: 'POST',
        path: `${basePath}/oauth2/v2/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: clientSecret,
        }).toString(),
      });
      expect(response.status, response.body).toBe(200);
      return response.json<{ access_token: string; scope: string }>();
    };
    /** Until the gateway answers `path` with `status` (a reload takes about a second). */
    const untilStatus = (path: string, headers: Record<string, string>, status: number) =>
      eventually(async () => (await call(path, headers)).status === status, {
        intervalMs: 100,
        describe: async () => {
          const last = await call(path, headers);
          return `GET ${path}: ${last.status} ${last.body}`;
        },
      });

    beforeAll(async () => {
      t = target();
      cluster = clusterAccess(t.kubeconfig);
      await cluster.apply(
        itemsApi(),
        api('stock-api', '/stock/v1', ['/levels']),
        {
          apiVersion: 'apiway.net/v1alpha1',
          kind: 'Product',
          metadata: { name: 'bundle', namespace: t.namespace },
          spec: { apis: [{ name: 'items-api' }, { name: 'stock-api' }] },
        },
        direct(),
        subscription('bundled', { product: 'bundle' }),
      );
      await waitReady('apis', 'items-api');
      await waitReady('apis', 'stock-api');
    });

    it('provisions each Subscription a Secret with its credentials and token URLs', async () => {
      const { secret, clientId, clientSecret, apiKey, apiKeySecondary } =
        await credentials('direct');
      expect(clientId).toBeTruthy();
      expect(clientSecret).toBeTruthy();
      expect(apiKey).toBeTruthy();
      expect(apiKeySecondary).toBeTruthy();
      expect(apiKey).not.toBe(apiKeySecondary);
      expect(secretValue(secret, 'token_url')).toBe(`${t.publicUrl}/items/v1/oauth2/v2/token`);
      expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'Subscription',
        name: 'direct',
      });
    });

    it('brings the Apis, the Product and the Subscriptions to Accepted and Ready', async () => {
      for (const [plural, name] of [
        ['apis', 'items-api'],
        ['products', 'bundle'],
        ['subscriptions', 'direct'],
        ['subscriptions', 'bundled'],
      ] as const) {
        const object = await waitReady(plural, name);
        expect(condition(object, 'Accepted')?.status, `${plural}/${name}`).toBe('True');
      }
    });

    it('mints a token the Api accepts, and proxies without the credential, naming the consumer', async () => {
      const { clientId, clientSecret } = await credentials('direct');
      const { access_token: accessToken } = await token('/items/v1', clientId, clientSecret);
      const response = await call('/items/v1/items?page=2', {
        authorization: `Bearer ${accessToken}`,
      });
      expect(response.status, response.body).toBe(200);
      const echoed = response.json<Echoed>();
      expect(echoed.url).toBe('/items?page=2');
      expect(echoed.headers.authorization).toBeUndefined();
      expect(echoed.headers['x-apiway-client-id']).toBe(clientId);
      expect((await call('/items/v1/items')).status).toBe(401);
      expect(
        (await call('/items/v1/nothing-here', { authorization: `Bearer ${accessToken}` })).status,
      ).toBe(404);
    });

    it('accepts both API keys, and a Product credential on every member Api with one token each', async () => {
      const { apiKey, apiKeySecondary } = await credentials('direct');
      expect((await call('/items/v1/items', { 'x-api-key': apiKey })).status).toBe(200);
      expect((await call('/items/v1/items', { 'x-api-key': apiKeySecondary })).status).toBe(200);

      const bundled = await credentials('bundled');
      const stock = await token('/stock/v1', bundled.clientId, bundled.clientSecret);
      const bearer = { authorization: `Bearer ${stock.access_token}` };
      expect((await call('/stock/v1/levels', bearer)).status).toBe(200);
      // A token is for one Api only.
      expect((await call('/items/v1/items', bearer)).status).toBe(401);
    });

    it('publishes the signing keys and each Api authorization server metadata', async () => {
      const jwks = await call('/.well-known/jwks');
      expect(jwks.status).toBe(200);
      const { keys } = jwks.json<{ keys: Array<Record<string, unknown>> }>();
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key).not.toHaveProperty('d');
      const metadata = await call('/.well-known/oauth-authorization-server/items/v1');
      expect(metadata.status).toBe(200);
      expect(metadata.json()).toMatchObject({
        issuer: `${t.publicUrl}/items/v1`,
        token_endpoint: `${t.publicUrl}/items/v1/oauth2/v2/token`,
      });
    });

    it('serves an edited OpenAPI document', async () => {
      const { apiKey } = await credentials('direct');
      expect((await call('/items/v1/orders', { 'x-api-key': apiKey })).status).toBe(404);
      await cluster.apply(itemsApi(['/items', '/orders']));
      await untilStatus('/items/v1/orders', { 'x-api-key': apiKey }, 200);
      await waitReady('apis', 'items-api');
    });

    it('stops a suspended Subscription keys and tokens, and restores them', async () => {
      const { clientId, clientSecret, apiKey } = await credentials('direct');
      const { access_token: accessToken } = await token('/items/v1', clientId, clientSecret);
      await cluster.apply(direct({ suspended: true }));
      await untilStatus('/items/v1/items', { 'x-api-key': apiKey }, 401);
      await untilStatus('/items/v1/items', { authorization: `Bearer ${accessToken}` }, 401);
      await cluster.apply(direct({ suspended: false }));
      await untilStatus('/items/v1/items', { 'x-api-key': apiKey }, 200);
      expect((await credentials('direct')).clientSecret).toBe(clientSecret);
    });

    it('rotates an API key from the spec, the old one working through its grace period', async () => {
      const before = await credentials('direct');
      await cluster.apply(
        direct({ credentials: { rotation: { apiKey: 1, gracePeriodSeconds: 3600 } } }),
      );
      const after = await eventually(async () => {
        const current = await credentials('direct');
        return current.apiKey !== before.apiKey ? current : undefined;
      });
      expect(after.apiKeySecondary).toBe(before.apiKeySecondary);
      expect(after.clientSecret).toBe(before.clientSecret);
      await untilStatus('/items/v1/items', { 'x-api-key': after.apiKey }, 200);
      expect((await call('/items/v1/items', { 'x-api-key': before.apiKey })).status).toBe(200);
    });

    it('revokes a deleted Subscription and garbage-collects its Secret', async () => {
      await cluster.apply(subscription('doomed', { api: 'items-api' }));
      await waitReady('subscriptions', 'doomed');
      const { apiKey } = await credentials('doomed');
      await untilStatus('/items/v1/items', { 'x-api-key': apiKey }, 200);
      await cluster.remove('subscriptions', t.namespace, 'doomed');
      await untilStatus('/items/v1/items', { 'x-api-key': apiKey }, 401);
      await eventually(
        async () => (await cluster.secret(t.namespace, 'doomed-credentials')) === undefined,
      );
    });

    it('refuses an Api with a broken document with a reason, and keeps serving the others', async () => {
      await cluster.apply(api('broken-api', '/broken/v1', [], 'openapi: 3.1.0\npaths: ['));
      const accepted = await waitCondition('apis', 'broken-api', 'Accepted', 'False');
      expect(accepted.reason).toBe('OpenApiInvalid');
      const { apiKey } = await credentials('direct');
      expect((await call('/items/v1/items', { 'x-api-key': apiKey })).status).toBe(200);
      await cluster.apply(api('broken-api', '/broken/v1', ['/fixed']));
      await waitReady('apis', 'broken-api');
    });
  });
}
