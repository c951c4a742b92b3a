// Signing-key rotation on a short schedule, with two gateways serving throughout: the next key
// is published by every gateway before any token is signed with it, tokens signed before the
// rotation keep working, and no request fails meanwhile.
import type { V1Secret } from '@kubernetes/client-node';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcePath } from '../../gateway/src/kubernetes/kube-client.ts';
import type { SigningKeySet } from '../../gateway/src/oauth/signing-keys.ts';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import {
  type KubernetesGatewayProcess,
  type OperatorProcess,
  startKubernetesGateway,
  startOperatorProcess,
} from '../support/operator-process.ts';
import {
  adminClient,
  apply,
  applyRbac,
  call,
  eventually,
  getSecret,
  requestToken,
  secretValue,
} from './support/cluster.ts';
import { api, PUBLIC_URL, subscription } from './support/fixtures.ts';

const system = useTestNamespace('op-keys-system');
const ns = useTestNamespace('op-keys');

let backend: EchoBackend;
let operator: OperatorProcess;
let gateways: KubernetesGatewayProcess[] = [];

async function keySet(): Promise<SigningKeySet> {
  const secret = await adminClient().get<V1Secret>(
    resourcePath({
      version: 'v1',
      resource: 'secrets',
      namespace: system,
      name: 'apiway-signing-keys-alpha',
    }),
  );
  return JSON.parse(secretValue(secret, 'keys.json') ?? '{"keys":[]}') as SigningKeySet;
}

async function jwksKids(gateway: KubernetesGatewayProcess): Promise<string[]> {
  const response = await fetch(`${gateway.url}/.well-known/jwks`);
  return ((await response.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
}

async function mint(gateway: KubernetesGatewayProcess): Promise<string> {
  const secret = await getSecret(ns, 'consumer-credentials');
  const response = await requestToken(
    gateway.url,
    '/items/v1',
    secretValue(secret, 'client_id') as string,
    secretValue(secret, 'client_secret') as string,
  );
  expect(response.status, response.body).toBe(200);
  return response.json<{ access_token: string }>().access_token;
}

beforeAll(async () => {
  backend = await startEchoBackend();
  await applyRbac(system, ['alpha']);
  await apply(
    api(ns, 'items-api', { basePath: '/items/v1', backend: backend.url }),
    subscription(ns, 'consumer', { api: 'items-api' }),
  );
  operator = await startOperatorProcess({
    kubeconfig: kubeconfigPath('operator'),
    systemNamespace: system,
    namespace: ns,
    args: ['--key-rotation-interval', '10s', '--key-publish-lead', '4s'],
  });
  gateways = await Promise.all(
    ['gw-1', 'gw-2'].map((identity) =>
      startKubernetesGateway({
        kubeconfig: kubeconfigPath('gateway'),
        systemNamespace: system,
        environment: 'alpha',
        identity,
        args: ['--public-url', PUBLIC_URL],
      }),
    ),
  );
  await eventually(async () =>
    (await Promise.all(gateways.map((g) => g.version()))).every(Boolean),
  );
  await eventually(() => getSecret(ns, 'consumer-credentials'));
});

afterAll(async () => {
  await Promise.all([...gateways.map((g) => g.stop()), operator?.stop()]);
  await backend?.close();
});

describe('signing-key rotation', () => {
  it('publishes the next key everywhere before signing with it, and invalidates no live token', async () => {
    const initial = await keySet();
    const es256 = initial.keys.find((key) => key.alg === 'ES256' && key.state === 'active');
    expect(es256).toBeDefined();
    const before = await mint(gateways[0] as KubernetesGatewayProcess);
    expect(decodeProtectedHeader(before).kid).toBe(es256?.kid);

    // Requests with the old token run throughout the rotation: none may fail.
    const failures: string[] = [];
    let requests = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        for (const gateway of gateways) {
          const response = await call(gateway.url, '/items/v1/items', {
            authorization: `Bearer ${before}`,
          });
          requests++;
          if (response.status !== 200) failures.push(`${response.status} ${response.body}`);
        }
      }
    })();

    // Whenever the key set holds a next key, every gateway's JWKS is checked for it, until the
    // promotion: by then every gateway must have published it.
    const seenPublished = new Set<string>();
    const promoted = await eventually(
      async () => {
        const set = await keySet();
        for (const next of set.keys.filter((key) => key.state === 'next')) {
          const everywhere = (await Promise.all(gateways.map(jwksKids))).every((kids) =>
            kids.includes(next.kid),
          );
          if (everywhere) seenPublished.add(next.kid);
        }
        const active = set.keys.find((key) => key.alg === 'ES256' && key.state === 'active');
        return active && active.kid !== es256?.kid ? { set, active } : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    expect(seenPublished).toContain(promoted.active.kid);
    expect(promoted.set.keys.find((key) => key.kid === es256?.kid)?.state).toBe('retired');

    // Tokens signed now use the new key and work on every gateway; the old one still does.
    const after = await eventually(async () => {
      const token = await mint(gateways[1] as KubernetesGatewayProcess);
      return decodeProtectedHeader(token).kid === promoted.active.kid ? token : undefined;
    });
    for (const gateway of gateways) {
      expect(
        (await call(gateway.url, '/items/v1/items', { authorization: `Bearer ${after}` })).status,
      ).toBe(200);
      expect(
        (await call(gateway.url, '/items/v1/items', { authorization: `Bearer ${before}` })).status,
      ).toBe(200);
      expect(await jwksKids(gateway)).toContain(es256?.kid);
    }
    running = false;
    await traffic;
    expect(requests).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });
});
