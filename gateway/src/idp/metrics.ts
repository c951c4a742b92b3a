/**
 * Metrics of the IdpAssociations a gateway trusts, on the Registry `main.ts` passes in. The
 * `idp` label is an IdpAssociation id from the snapshot (bounded). The gauges are computed from
 * the current health at scrape time, so a removed IdP's gauges disappear with it; its counters
 * are removed by `forget`.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import type { IdpHealth } from './idp-health.ts';
import type { JwksFetchResult } from './remote-keys.ts';

export interface IdpMetrics {
  jwksFetches: Counter<'idp' | 'result'>;
  discoveries: Counter<'idp' | 'result'>;
  /** Forget a removed IdP's counters. */
  forget(idp: string): void;
}

export function createIdpMetrics(registry: Registry, health: () => IdpHealth[]): IdpMetrics {
  const registers = [registry];
  new Gauge({
    name: 'apiway_idp_up',
    help: "1 when the IdpAssociation's discovery document was read and its signing keys are loaded, 0 otherwise.",
    labelNames: ['idp'],
    registers,
    collect() {
      this.reset();
      for (const idp of health()) this.set({ idp: idp.id }, idp.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'apiway_idp_signing_keys',
    help: 'Keys in the cached JWKS of each IdpAssociation.',
    labelNames: ['idp'],
    registers,
    collect() {
      this.reset();
      for (const idp of health()) this.set({ idp: idp.id }, idp.keys);
    },
  });
  const jwksFetches = new Counter({
    name: 'apiway_idp_jwks_fetches_total',
    help: 'JWKS fetches by IdpAssociation and result (success; failure; suppressed: not attempted, a failure was too recent).',
    labelNames: ['idp', 'result'],
    registers,
  });
  const discoveries = new Counter({
    name: 'apiway_idp_discoveries_total',
    help: 'OpenID Connect discovery attempts by IdpAssociation and result (success, failure).',
    labelNames: ['idp', 'result'],
    registers,
  });
  return {
    jwksFetches,
    discoveries,
    forget(idp) {
      for (const result of ['success', 'failure', 'suppressed'] satisfies JwksFetchResult[]) {
        jwksFetches.remove({ idp, result });
      }
      for (const result of ['success', 'failure']) discoveries.remove({ idp, result });
    },
  };
}
