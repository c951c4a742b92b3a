// Each integration test file works in a namespace of its own, so files cannot see each other's
// objects and need no cleanup of individual objects.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { kubeConfig } from './kube.ts';

/**
 * Registers hooks that create a fresh namespace (as admin) before the file's tests and delete
 * it after them. Deletion is not awaited to completion: the namespace controller finalizes it
 * in the background while other files run. Returns the namespace's name.
 */
export function useTestNamespace(prefix: string): string {
  const slug = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '');
  const name = `${slug || 'test'}-${randomBytes(3).toString('hex')}`;
  const core = () => kubeConfig('admin').makeApiClient(CoreV1Api);
  beforeAll(async () => {
    await core().createNamespace({
      body: { metadata: { name, labels: { 'apiway.net/test-namespace': 'true' } } },
    });
  });
  afterAll(async () => {
    await core().deleteNamespace({ name });
  });
  return name;
}
