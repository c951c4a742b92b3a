/**
 * What the shared scenarios need from a cluster, given only a kubeconfig file: apply objects,
 * read them, their Secrets and Events, delete them, and poll. No vitest `inject`, so the same
 * code runs against the test control plane and against a kind cluster.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import {
  createKubeClient,
  type KubeClient,
  resourcePath,
} from '../../gateway/src/kubernetes/kube-client.ts';

const run = promisify(execFile);

export type ApiwayPlural = 'apis' | 'products' | 'subscriptions' | 'idpassociations';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface ObservedObject extends KubernetesObject {
  metadata: { name?: string; namespace?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    replicas?: number;
    readyReplicas?: number;
    [field: string]: unknown;
  };
}

export interface ClusterAccess {
  client: KubeClient;
  kubectl(args: string[], input?: string): Promise<string>;
  /** Server-side apply of objects given as JS values. */
  apply(...objects: object[]): Promise<void>;
  get(plural: ApiwayPlural, namespace: string, name: string): Promise<ObservedObject | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  remove(plural: ApiwayPlural, namespace: string, name: string): Promise<void>;
}

export function clusterAccess(kubeconfig: string): ClusterAccess {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const client = createKubeClient(config);
  const kubectl = async (args: string[], input?: string) => {
    const child = run('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (input !== undefined) child.child.stdin?.end(input);
    try {
      return (await child).stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`kubectl ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
    }
  };
  const apiwayPath = (plural: ApiwayPlural, namespace: string, name: string) =>
    resourcePath({ group: 'apiway.net', version: 'v1alpha1', resource: plural, namespace, name });
  return {
    client,
    kubectl,
    async apply(...objects) {
      await kubectl(
        ['apply', '--server-side', '--force-conflicts', '--field-manager=apiway-tests', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      );
    },
    get: (plural, namespace, name) =>
      client.get<ObservedObject>(apiwayPath(plural, namespace, name)),
    secret: (namespace, name) =>
      client.get<V1Secret>(resourcePath({ version: 'v1', resource: 'secrets', namespace, name })),
    async remove(plural, namespace, name) {
      await client.delete(apiwayPath(plural, namespace, name));
    },
  };
}

export function condition(object: ObservedObject | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

export function secretValue(secret: V1Secret | undefined, key: string): string | undefined {
  const encoded = secret?.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * Polls `check` until it returns something other than undefined/false, and returns that. On
 * timeout it throws, with `describe()` (say, the object's status) in the message.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    describe?: () => Promise<string> | string;
  } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = options.describe ? await options.describe() : '';
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new Error(`condition not met in time${cause}\n${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}
