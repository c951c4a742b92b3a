// Credentials live in their Secrets and nowhere else: killing the operator in the middle of its
// work, restarting it, or losing every status changes no credential a consumer holds.

import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcePath } from '../../gateway/src/kubernetes/kube-client.ts';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { type OperatorProcess, startOperatorProcess } from '../support/operator-process.ts';
import {
  adminClient,
  apply,
  applyRbac,
  condition,
  eventually,
  getObject,
  getSecret,
  kubectl,
  type StatusOf,
  secretValue,
} from './support/cluster.ts';
import { api, subscription } from './support/fixtures.ts';

const system = useTestNamespace('op-restart-system');
const ns = useTestNamespace('op-restart');
const COUNT = 12;
const names = Array.from({ length: COUNT }, (_, i) => `sub-${i}`);

let operator: OperatorProcess | undefined;

const start = () =>
  startOperatorProcess({
    kubeconfig: kubeconfigPath('operator'),
    systemNamespace: system,
    namespace: ns,
  });

/** The credentials a consumer holds, per Secret that exists now. */
async function credentialsNow(): Promise<Map<string, string>> {
  const list = await adminClient().list<V1Secret>(
    resourcePath({ version: 'v1', resource: 'secrets', namespace: ns }),
    {
      labelSelector: 'apiway.net/subscription',
    },
  );
  return new Map(
    list.items.map((secret) => [
      secret.metadata?.name ?? '',
      ['client_id', 'client_secret', 'api_key', 'api_key_secondary']
        .map((key) => secretValue(secret, key))
        .join('\n'),
    ]),
  );
}

async function allIssued(): Promise<Map<string, string>> {
  return eventually(
    async () => {
      const now = await credentialsNow();
      return now.size === COUNT ? now : undefined;
    },
    {
      timeoutMs: 60_000,
      describe: async () => `${(await credentialsNow()).size} of ${COUNT} Secrets`,
    },
  );
}

beforeAll(async () => {
  await applyRbac(system, ['alpha']);
  await apply(
    api(ns, 'items-api', { basePath: '/items/v1', backend: 'http://127.0.0.1:9' }),
    ...names.map((name) => subscription(ns, name, { api: 'items-api' })),
  );
});

afterAll(async () => {
  await operator?.stop('SIGKILL');
});

describe('apiway-operator restarts', () => {
  it('changes no credential when killed mid-reconcile and started again', async () => {
    operator = await start();
    // Killed as soon as the first Secrets exist: some Subscriptions are done, others not.
    const before = await eventually(async () => {
      const now = await credentialsNow();
      return now.size > 0 ? now : undefined;
    });
    await operator.stop('SIGKILL');
    const atKill = await credentialsNow();

    operator = await start();
    const after = await allIssued();
    for (const [name, values] of atKill) expect(after.get(name), name).toBe(values);
    for (const [name, values] of before) expect(after.get(name), name).toBe(values);

    // Once more, with everything issued: a restart re-lists everything and issues nothing.
    await operator.stop('SIGKILL');
    operator = await start();
    await operator.waitForControllers();
    await eventually(async () => {
      const sub = await getObject<{ apiVersion: string; kind: string; status?: StatusOf }>(
        'subscriptions',
        ns,
        'sub-0',
      );
      return condition(sub, 'Accepted')?.status === 'True';
    });
    expect(await credentialsNow()).toEqual(after);
  });

  it('changes no credential when every status is lost', async () => {
    const before = await allIssued();
    for (const name of names) {
      await kubectl('admin', [
        'patch',
        'subscription',
        name,
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":null}',
      ]);
    }
    // The operator writes the statuses again...
    await eventually(
      async () => {
        for (const name of names) {
          const sub = await getObject<{ apiVersion: string; kind: string; status?: StatusOf }>(
            'subscriptions',
            ns,
            name,
          );
          if (sub?.status?.clientId === undefined) return false;
        }
        return true;
      },
      { timeoutMs: 60_000 },
    );
    // ...from the same credentials.
    expect(await credentialsNow()).toEqual(before);
    const secret = await getSecret(ns, 'sub-3-credentials');
    const sub = await getObject<{ apiVersion: string; kind: string; status?: StatusOf }>(
      'subscriptions',
      ns,
      'sub-3',
    );
    expect(sub?.status?.clientId).toBe(secretValue(secret, 'client_id'));
  });
});
