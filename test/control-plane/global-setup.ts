// vitest globalSetup of the `integration` project: one control plane for the whole run, CRDs
// from crds/ installed, kubeconfig paths handed to test files through provide()/inject().
// Set APIWAY_KUBECONFIG to run the same tests against an existing cluster (kind) instead.
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Identity, startControlPlane } from './control-plane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Kubeconfig file per identity; see identities in control-plane.ts. */
    kubeconfigs: Record<Identity, string>;
    kubeServer: string;
  }
}

const root = resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Builds the binaries on first use (about 6 min on 2 idle cores) and fails loudly if it cannot.
  const cluster = await startControlPlane({
    existingKubeconfig: process.env.APIWAY_KUBECONFIG,
    crds: join(root, 'crds'),
    log: (line) => console.log(`[control-plane] ${line}`),
  });
  project.provide('kubeconfigs', {
    admin: cluster.kubeconfigPath('admin'),
    operator: cluster.kubeconfigPath('operator'),
    gateway: cluster.kubeconfigPath('gateway'),
  });
  project.provide('kubeServer', cluster.server);
  return () => cluster.stop();
}
