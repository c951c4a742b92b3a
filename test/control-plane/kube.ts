// Test-file side of the integration tier: a client configuration per identity.
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { Identity } from './control-plane.ts';

/** Kubeconfig file of `identity` in the run's control plane (for kubectl --kubeconfig). */
export function kubeconfigPath(identity: Identity): string {
  return inject('kubeconfigs')[identity];
}

/** A client configuration authenticating as `identity`. */
export function kubeConfig(identity: Identity): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath(identity));
  return kc;
}
