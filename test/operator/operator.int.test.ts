// The operator and three gateway processes, each as its own non-admin identity with the RBAC
// of operator/rbac/, against the real control plane, with a real backend: what a platform team
// sees after `kubectl apply`, and what consumers see through every gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKubeClient,
  hasStatus,
  resourcePath,
} from '../../gateway/src/kubernetes/kube-client.ts';
import { kubeConfig, kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import {
  type KubernetesGatewayProcess,
  type OperatorProcess,
  startKubernetesGateway,
  startOperatorProcess,
} from '../support/operator-process.ts';
import {
  apply,
  applyRbac,
  call,
  condition,
  deleteObject,
  eventually,
  getObject,
  getSecret,
  kubectl,
  requestToken,
  type StatusOf,
  secretValue,
} from './support/cluster.ts';
import { api, openapi, PUBLIC_URL, product, subscription } from './support/fixtures.ts';

const system = useTestNamespace('op-flows-system');
const ns = useTestNamespace('op-flows');

let backend: EchoBackend;
let operator: OperatorProcess;
let gateways: KubernetesGatewayProcess[] = [];

type Observed = { metadata: { generation?: number }; status?: StatusOf };

async function statusOf(
  kind: 'apis' | 'products' | 'subscriptions',
  name: string,
): Promise<Observed | undefined> {
  return getObject<Observed & { apiVersion: string; kind: string }>(kind, ns, name);
}

/** Waits until the object is Ready at its current generation, served by `replicas` gateways. */
async function waitReady(kind: 'apis' | 'products' | 'subscriptions', name: string, replicas = 3) {
  return eventually(
    async () => {
      const object = await statusOf(kind, name);
      const ready = condition(object, 'Ready');
      return ready?.status === 'True' &&
        ready.observedGeneration === object?.metadata.generation &&
        object?.status?.readyReplicas === replicas &&
        object?.status?.replicas === replicas
        ? object
        : undefined;
    },
    { describe: async () => JSON.stringify((await statusOf(kind, name))?.status, null, 2) },
  );
}

async function waitCondition(
  kind: 'apis' | 'products' | 'subscriptions',
  name: string,
  type: string,
  status: string,
) {
  return eventually(
    async () => {
      const object = await statusOf(kind, name);
      const found = condition(object, type);
      return found?.status === status && found.observedGeneration === object?.metadata.generation
        ? found
        : undefined;
    },
    { describe: async () => JSON.stringify((await statusOf(kind, name))?.status, null, 2) },
  );
}

async function credentials(name: string) {
  const secret = await eventually(() => getSecret(ns, `${name}-credentials`));
  return {
    clientId: secretValue(secret, 'client_id') as string,
    clientSecret: secretValue(secret, 'client_secret') as string,
    apiKey: secretValue(secret, 'api_key') as string,
    apiKeySecondary: secretValue(secret, 'api_key_secondary') as string,
    secret,
  };
}

/** Polls until `check` holds on every gateway. */
function onEveryGateway(
  check: (gateway: KubernetesGatewayProcess) => Promise<boolean>,
  timeoutMs = 15_000,
) {
  return eventually(async () => (await Promise.all(gateways.map(check))).every(Boolean), {
    timeoutMs,
    intervalMs: 50,
  });
}

beforeAll(async () => {
  backend = await startEchoBackend();
  await applyRbac(system, ['alpha']);
  await apply(
    api(ns, 'items-api', { basePath: '/items/v1', backend: backend.url, paths: ['/items'] }),
    api(ns, 'stock-api', { basePath: '/stock/v1', backend: backend.url, paths: ['/levels'] }),
    product(ns, 'bundle', ['items-api', 'stock-api']),
    subscription(ns, 'direct', { api: 'items-api' }),
    subscription(ns, 'bundled', { product: 'bundle' }),
  );
  operator = await startOperatorProcess({
    kubeconfig: kubeconfigPath('operator'),
    systemNamespace: system,
    namespace: ns,
    publicUrls: { alpha: PUBLIC_URL },
  });
  gateways = await Promise.all(
    ['gw-1', 'gw-2', 'gw-3'].map((identity) =>
      startKubernetesGateway({
        kubeconfig: kubeconfigPath('gateway'),
        systemNamespace: system,
        environment: 'alpha',
        identity,
        args: ['--public-url', PUBLIC_URL],
      }),
    ),
  );
  for (const name of ['items-api', 'stock-api']) await waitReady('apis', name);
});

afterAll(async () => {
  await Promise.all([...gateways.map((g) => g.stop()), operator?.stop()]);
  await backend?.close();
});

describe('apiway-operator with three gateways', () => {
  it('provisions each Subscription a Secret with its credentials and token URLs', async () => {
    const direct = await credentials('direct');
    expect(direct.clientId).toMatch(/^.+\.direct\./);
    expect(direct.clientSecret).toMatch(/^apw_cs_/);
    expect(direct.apiKey).toMatch(/^apw_ak_/);
    expect(direct.apiKeySecondary).toMatch(/^apw_ak_/);
    expect(secretValue(direct.secret, 'token_url')).toBe(`${PUBLIC_URL}/items/v1/oauth2/v2/token`);
    expect(direct.secret.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Subscription',
      name: 'direct',
      controller: true,
    });

    const bundled = await credentials('bundled');
    expect(secretValue(bundled.secret, 'token_url.items-api')).toBe(
      `${PUBLIC_URL}/items/v1/oauth2/v2/token`,
    );
    expect(secretValue(bundled.secret, 'token_url.stock-api')).toBe(
      `${PUBLIC_URL}/stock/v1/oauth2/v2/token`,
    );
  });

  it('brings every object to Ready=True with the number of gateways that serve it', async () => {
    for (const [kind, name] of [
      ['apis', 'items-api'],
      ['products', 'bundle'],
      ['subscriptions', 'direct'],
      ['subscriptions', 'bundled'],
    ] as const) {
      const object = await waitReady(kind, name);
      expect(condition(object, 'Accepted')?.status).toBe('True');
      expect(object.status?.observedGeneration).toBe(object.metadata.generation);
    }
    const direct = await statusOf('subscriptions', 'direct');
    expect(direct?.status?.secretName).toBe('direct-credentials');
    expect(direct?.status?.clientId).toBe((await credentials('direct')).clientId);
  });

  it('serves the Secret credentials through every gateway, tokens minted on one working on all', async () => {
    const direct = await credentials('direct');
    for (const gateway of gateways) {
      const token = await requestToken(
        gateway.url,
        '/items/v1',
        direct.clientId,
        direct.clientSecret,
      );
      expect(token.status, token.body).toBe(200);
      const accessToken = token.json<{ access_token: string }>().access_token;
      for (const other of gateways) {
        const response = await call(other.url, '/items/v1/items', {
          authorization: `Bearer ${accessToken}`,
        });
        expect(response.status, response.body).toBe(200);
      }
      expect(
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': direct.apiKey })).status,
      ).toBe(200);
      expect(
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': direct.apiKeySecondary }))
          .status,
      ).toBe(200);
      expect((await call(gateway.url, '/items/v1/items')).status).toBe(401);
    }
    // A Product credential works on every member Api, with one token per Api.
    const bundled = await credentials('bundled');
    const token = await requestToken(
      gateways[0]!.url,
      '/stock/v1',
      bundled.clientId,
      bundled.clientSecret,
    );
    expect(token.status, token.body).toBe(200);
    const stock = await call(gateways[1]!.url, '/stock/v1/levels', {
      authorization: `Bearer ${token.json<{ access_token: string }>().access_token}`,
    });
    expect(stock.status).toBe(200);
  });

  it('changes enforcement in every gateway when the Api OpenAPI document is edited', async () => {
    const { apiKey } = await credentials('direct');
    for (const gateway of gateways) {
      expect((await call(gateway.url, '/items/v1/orders', { 'x-api-key': apiKey })).status).toBe(
        404,
      );
    }
    await apply(
      api(ns, 'items-api', {
        basePath: '/items/v1',
        backend: backend.url,
        paths: ['/items', '/orders'],
      }),
    );
    await onEveryGateway(
      async (gateway) =>
        (await call(gateway.url, '/items/v1/orders', { 'x-api-key': apiKey })).status === 200,
    );
    await waitReady('apis', 'items-api');
  });

  it('revokes the keys and tokens of a suspended Subscription in every gateway, and restores them', async () => {
    const direct = await credentials('direct');
    const token = (
      await requestToken(gateways[0]!.url, '/items/v1', direct.clientId, direct.clientSecret)
    ).json<{
      access_token: string;
    }>().access_token;
    await apply(subscription(ns, 'direct', { api: 'items-api' }, { suspended: true }));
    await onEveryGateway(async (gateway) => {
      const byKey = await call(gateway.url, '/items/v1/items', { 'x-api-key': direct.apiKey });
      const byToken = await call(gateway.url, '/items/v1/items', {
        authorization: `Bearer ${token}`,
      });
      return byKey.status === 401 && byToken.status === 401;
    });
    expect(
      (await requestToken(gateways[1]!.url, '/items/v1', direct.clientId, direct.clientSecret))
        .status,
    ).not.toBe(200);

    await apply(subscription(ns, 'direct', { api: 'items-api' }, { suspended: false }));
    await onEveryGateway(
      async (gateway) =>
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': direct.apiKey })).status === 200,
    );
    // Suspension changes no credential.
    expect((await credentials('direct')).clientSecret).toBe(direct.clientSecret);
  });

  it('rotates one API key from the spec, the old value working through its grace period', async () => {
    await apply(subscription(ns, 'rotating', { api: 'items-api' }));
    const before = await eventually(async () => {
      const found = await getSecret(ns, 'rotating-credentials');
      return found ? credentials('rotating') : undefined;
    });
    await apply(
      subscription(
        ns,
        'rotating',
        { api: 'items-api' },
        { credentials: { rotation: { apiKey: 1, gracePeriodSeconds: 3600 } } },
      ),
    );
    const after = await eventually(async () => {
      const current = await credentials('rotating');
      return current.apiKey !== before.apiKey ? current : undefined;
    });
    expect(after.clientSecret).toBe(before.clientSecret);
    expect(after.apiKeySecondary).toBe(before.apiKeySecondary);
    await onEveryGateway(
      async (gateway) =>
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': after.apiKey })).status === 200,
    );
    for (const gateway of gateways) {
      expect(
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': before.apiKey })).status,
      ).toBe(200);
    }
    const events = await kubectl('admin', [
      'get',
      'events',
      '-n',
      ns,
      '--field-selector',
      'involvedObject.name=rotating',
      '-o',
      'json',
    ]);
    expect(events).toContain('CredentialRotated');
  });

  it('revokes a deleted Subscription everywhere and garbage-collects its Secret', async () => {
    await apply(subscription(ns, 'doomed', { api: 'items-api' }));
    await waitReady('subscriptions', 'doomed');
    const doomed = await credentials('doomed');
    await onEveryGateway(
      async (gateway) =>
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': doomed.apiKey })).status === 200,
    );
    await deleteObject('subscriptions', ns, 'doomed');
    await onEveryGateway(
      async (gateway) =>
        (await call(gateway.url, '/items/v1/items', { 'x-api-key': doomed.apiKey })).status === 401,
    );
    await eventually(async () => (await getSecret(ns, 'doomed-credentials')) === undefined, {
      timeoutMs: 60_000,
    });
  });

  it('refuses an Api with a broken document with an actionable reason, keeps serving the others, and recovers', async () => {
    const { apiKey } = await credentials('direct');
    await apply(
      api(ns, 'broken-api', {
        basePath: '/broken/v1',
        backend: backend.url,
        document: 'openapi: 3.1.0\npaths: [',
      }),
    );
    const accepted = await waitCondition('apis', 'broken-api', 'Accepted', 'False');
    expect(accepted.reason).toBe('OpenApiInvalid');
    expect(accepted.message).toMatch(/YAML|JSON/);
    expect(condition(await statusOf('apis', 'broken-api'), 'Ready')?.reason).toBe('NotAccepted');
    for (const gateway of gateways) {
      expect((await call(gateway.url, '/items/v1/items', { 'x-api-key': apiKey })).status).toBe(
        200,
      );
    }
    await apply(
      api(ns, 'broken-api', {
        basePath: '/broken/v1',
        backend: backend.url,
        document: openapi(['/fixed']),
      }),
    );
    await waitReady('apis', 'broken-api');
  });

  it('leaves a basePath with the oldest Api and refuses the newer one', async () => {
    await apply(
      api(ns, 'squatter-api', { basePath: '/items/v1', backend: backend.url, paths: ['/squat'] }),
    );
    const accepted = await waitCondition('apis', 'squatter-api', 'Accepted', 'False');
    expect(accepted.reason).toBe('BasePathConflict');
    expect(accepted.message).toContain('items-api');
    const { apiKey } = await credentials('direct');
    for (const gateway of gateways) {
      expect((await call(gateway.url, '/items/v1/items', { 'x-api-key': apiKey })).status).toBe(
        200,
      );
    }
    await deleteObject('apis', ns, 'squatter-api');
  });

  it('reports a Subscription to an Api that does not exist, and never overwrites a Secret it does not own', async () => {
    await apply(subscription(ns, 'lost', { api: 'no-such-api' }));
    expect((await waitCondition('subscriptions', 'lost', 'Accepted', 'False')).reason).toBe(
      'ApiNotFound',
    );

    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'taken-credentials', namespace: ns },
      stringData: { mine: 'do not touch' },
    });
    await apply(subscription(ns, 'taken', { api: 'items-api' }));
    expect((await waitCondition('subscriptions', 'taken', 'Accepted', 'False')).reason).toBe(
      'SecretConflict',
    );
    const secret = await getSecret(ns, 'taken-credentials');
    expect(Object.keys(secret?.data ?? {})).toEqual(['mine']);
  });

  it('never lets a gateway identity read a credential Secret', async () => {
    const gatewayClient = createKubeClient(kubeConfig('gateway'));
    const read = gatewayClient.get(
      resourcePath({
        version: 'v1',
        resource: 'secrets',
        namespace: ns,
        name: 'direct-credentials',
      }),
    );
    await expect(read).rejects.toSatisfy((error: unknown) => hasStatus(error, 403));
    await expect(
      kubectl('gateway', ['get', 'secret', '-n', ns, 'direct-credentials']),
    ).rejects.toThrow(/Forbidden/);
    // Nor another Secret of the system namespace than its environment's signing keys.
    await expect(kubectl('gateway', ['get', 'secrets', '-n', system])).rejects.toThrow(/Forbidden/);
  });
});
