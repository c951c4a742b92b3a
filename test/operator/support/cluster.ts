/**
 * Helpers for the operator's integration tests: RBAC from operator/rbac/ applied as admin (with
 * the test's system namespace and environments in place of `apiway-system` and `alpha`),
 * objects applied and read through the API, polling, and the OAuth2 / API-key calls a
 * consumer makes through a gateway.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  createKubeClient,
  type KubeClient,
  resourcePath,
} from '../../../gateway/src/kubernetes/kube-client.ts';
import { kubeConfig, kubeconfigPath } from '../../control-plane/kube.ts';
import {
  type Condition,
  eventually as pollUntil,
  secretValue,
} from '../../scenarios/cluster-access.ts';
import { send, type TestResponse } from '../../support/http-client.ts';

export { type Condition, secretValue };

const run = promisify(execFile);
const RBAC_DIR = fileURLToPath(new URL('../../../operator/rbac/', import.meta.url));

export function adminClient(): KubeClient {
  return createKubeClient(kubeConfig('admin'));
}

/** `kubectl` as an identity of the test control plane. */
export async function kubectl(
  identity: 'admin' | 'operator' | 'gateway',
  args: string[],
  input?: string,
): Promise<string> {
  const child = run('kubectl', ['--kubeconfig', kubeconfigPath(identity), ...args]);
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

/** Applies (server-side, as admin) objects given as JS values. */
export async function apply(...objects: object[]): Promise<void> {
  await kubectl(
    'admin',
    ['apply', '--server-side', '--force-conflicts', '--field-manager=apiway-tests', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
}

/**
 * The operator's and the gateways' RBAC, as the programs run with it: operator/rbac/*.yaml with
 * the system namespace and one gateway Role per environment substituted.
 */
export async function applyRbac(
  systemNamespace: string,
  environments: readonly string[],
): Promise<void> {
  const operator = await readFile(`${RBAC_DIR}operator-clusterrole.yaml`, 'utf8');
  const gateway = await readFile(`${RBAC_DIR}gateway-role.yaml`, 'utf8');
  const objects: object[] = [];
  const parse = (text: string) =>
    parseAllDocuments(text).map((doc) => doc.toJS() as { metadata: { namespace?: string } });
  for (const object of parse(operator)) {
    if (object.metadata.namespace) object.metadata.namespace = systemNamespace;
    objects.push(object);
  }
  for (const environment of environments) {
    for (const object of parse(gateway.replaceAll('alpha', environment))) {
      object.metadata.namespace = systemNamespace;
      objects.push(object);
    }
  }
  await apply(...objects);
}

export async function getObject<T extends KubernetesObject>(
  kind: 'apis' | 'products' | 'subscriptions' | 'idpassociations',
  namespace: string,
  name: string,
): Promise<T | undefined> {
  return adminClient().get<T>(
    resourcePath({ group: 'apiway.net', version: 'v1alpha1', resource: kind, namespace, name }),
  );
}

export async function getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
  return adminClient().get<V1Secret>(
    resourcePath({ version: 'v1', resource: 'secrets', namespace, name }),
  );
}

export async function deleteObject(kind: string, namespace: string, name: string): Promise<void> {
  const group = kind === 'secrets' || kind === 'configmaps' ? undefined : 'apiway.net';
  await adminClient().delete(
    resourcePath({
      ...(group ? { group } : {}),
      version: group ? 'v1alpha1' : 'v1',
      resource: kind,
      namespace,
      name,
    }),
  );
}

/** `eventually` of the shared scenarios, polling faster and giving up sooner by default. */
export function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: Parameters<typeof pollUntil>[1] = {},
): Promise<T> {
  return pollUntil(check, { timeoutMs: 30_000, intervalMs: 100, ...options });
}

export type StatusOf = {
  observedGeneration?: number;
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  [field: string]: unknown;
};

export function condition(
  object: { status?: StatusOf } | undefined,
  type: string,
): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

/** Client credentials grant at a gateway: `{ status, body }` of the token endpoint. */
export async function requestToken(
  gatewayUrl: string,
  basePath: string,
  clientId: string,
  clientSecret: string,
  scope?: string,
): Promise<TestResponse> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  });
  if (scope !== undefined) form.set('scope', scope);
  return send(gatewayUrl, {
    method: 'POST',
    path: `${basePath}/oauth2/v2/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
}

export function call(
  gatewayUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  return send(gatewayUrl, { path, headers });
}
