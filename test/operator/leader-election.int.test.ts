// Two operator replicas with --leader-elect: one runs the controllers, and when it dies the
// other takes over within seconds.
import type { V1Lease } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcePath } from '../../gateway/src/kubernetes/kube-client.ts';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { type OperatorProcess, startOperatorProcess } from '../support/operator-process.ts';
import { adminClient, apply, applyRbac, eventually, getSecret } from './support/cluster.ts';
import { api, subscription } from './support/fixtures.ts';

const system = useTestNamespace('op-leader-system');
const ns = useTestNamespace('op-leader');

const replicas = new Map<string, OperatorProcess>();

const start = (identity: string) =>
  startOperatorProcess({
    kubeconfig: kubeconfigPath('operator'),
    systemNamespace: system,
    namespace: ns,
    leaderElect: true,
    identity,
  });

async function holder(): Promise<string | undefined> {
  const lease = await adminClient().get<V1Lease>(
    resourcePath({
      group: 'coordination.k8s.io',
      version: 'v1',
      resource: 'leases',
      namespace: system,
      name: 'apiway-operator',
    }),
  );
  return lease?.spec?.holderIdentity ?? undefined;
}

const leads = (replica: OperatorProcess) =>
  replica.output().includes('"msg":"controllers started"');

beforeAll(async () => {
  await applyRbac(system, ['alpha']);
  await apply(api(ns, 'items-api', { basePath: '/items/v1', backend: 'http://127.0.0.1:9' }));
  for (const identity of ['op-a', 'op-b']) replicas.set(identity, await start(identity));
});

afterAll(async () => {
  await Promise.all([...replicas.values()].map((replica) => replica.stop('SIGKILL')));
});

describe('leader election', () => {
  it('runs the controllers in one replica only, and the other takes over when the leader dies', async () => {
    const leader = await eventually(async () => {
      const identity = await holder();
      return identity && replicas.get(identity) && leads(replicas.get(identity) as OperatorProcess)
        ? identity
        : undefined;
    });
    const follower = leader === 'op-a' ? 'op-b' : 'op-a';
    await apply(subscription(ns, 'first', { api: 'items-api' }));
    await eventually(() => getSecret(ns, 'first-credentials'));
    expect(leads(replicas.get(follower) as OperatorProcess)).toBe(false);

    await (replicas.get(leader) as OperatorProcess).stop('SIGKILL');
    await apply(subscription(ns, 'second', { api: 'items-api' }));
    await eventually(async () => (await holder()) === follower, { timeoutMs: 30_000 });
    await (replicas.get(follower) as OperatorProcess).waitForControllers(30_000);
    await eventually(() => getSecret(ns, 'second-credentials'), { timeoutMs: 30_000 });
  });

  it('hands over at once when the leader stops cleanly', async () => {
    const leader = (await holder()) as string;
    const restarted = leader === 'op-a' ? 'op-b' : 'op-a';
    replicas.set(restarted, await start(restarted));
    const stopped = await (replicas.get(leader) as OperatorProcess).stop('SIGTERM');
    expect(stopped.code).toBe(0);
    // A released Lease is taken at the next retry (2 s), without waiting for it to expire.
    await eventually(async () => (await holder()) === restarted, { timeoutMs: 15_000 });
    await (replicas.get(restarted) as OperatorProcess).waitForControllers(15_000);
  });
});
