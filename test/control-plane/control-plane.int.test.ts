// The control plane behaves like a real cluster: RBAC applies to non-admin identities and
// kube-controller-manager collects garbage. Later integration tests rely on both.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  CoreV1Api,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  VersionApi,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeConfig } from './kube.ts';
import { useTestNamespace } from './namespace.ts';

const namespace = useTestNamespace('control-plane');
const admin = kubeConfig('admin').makeApiClient(CoreV1Api);
// A user of its own, impersonated by the admin: other test files bind RBAC to the project's
// identities (the operator's ClusterRole grants Secrets everywhere), so only a user nobody else
// binds shows RBAC denying until a Role grants.
const probeUser = `rbac-probe-${randomBytes(3).toString('hex')}`;
const asProbe = setHeaderOptions('Impersonate-User', probeUser);

/** Polls `check` until it returns true or `timeoutMs` passes; returns its last answer. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const statusOf = (promise: Promise<unknown>): Promise<number> =>
  promise.then(
    () => 200,
    (err: unknown) => {
      if (err instanceof ApiException) return err.code;
      throw err;
    },
  );

describe('control plane', () => {
  it('serves Kubernetes 1.33', async () => {
    const version = await kubeConfig('admin').makeApiClient(VersionApi).getCode();
    expect(version.minor).toMatch(/^33/);
  });

  it('lets the admin create a namespace and a ConfigMap in it', async () => {
    expect((await admin.readNamespace({ name: namespace })).status?.phase).toBe('Active');
    await admin.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'hello' }, data: { greeting: 'hi' } },
    });
    const cm = await admin.readNamespacedConfigMap({ name: 'hello', namespace });
    expect(cm.data).toEqual({ greeting: 'hi' });
  });

  it('forbids a non-admin user to list Secrets until a Role grants it', async () => {
    expect(await statusOf(admin.listNamespacedSecret({ namespace }, asProbe))).toBe(403);

    const rbac = kubeConfig('admin').makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'read-secrets' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'probe-reads-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-secrets' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: probeUser }],
      },
    });
    // The RBAC authorizer reads roles through an informer: allow it a moment to see them.
    expect(
      await eventually(
        async () => (await statusOf(admin.listNamespacedSecret({ namespace }, asProbe))) === 200,
        10_000,
      ),
    ).toBe(true);
    // Granted in this namespace only.
    expect(await statusOf(admin.listNamespacedSecret({ namespace: 'default' }, asProbe))).toBe(403);
  });

  it('garbage-collects a Secret whose owning ConfigMap is deleted', async () => {
    const owner = await admin.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owner' } },
    });
    await admin.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
          ],
        },
        stringData: { key: 'value' },
      },
    });
    await admin.deleteNamespacedConfigMap({ name: 'owner', namespace });
    const gone = await eventually(
      async () =>
        (await statusOf(admin.readNamespacedSecret({ name: 'owned', namespace }))) === 404,
      60_000,
    );
    expect(gone, 'kube-controller-manager should delete the owned Secret').toBe(true);
  });
});
