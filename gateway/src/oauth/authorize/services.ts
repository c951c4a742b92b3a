/**
 * What the authorization code flow and IdP tokens need beyond a snapshot, for the gateway's
 * lifetime (created by `createGateway`, handed to the pipeline with every request).
 */

import type { Logger } from 'pino';
import type { IdpTrust } from '../../idp/idp-trust.ts';
import type { SnapshotApi, SnapshotIdp } from '../../snapshot/schema.ts';
import type { AuthorizationStore } from './store.ts';

export interface AuthorizationServices {
  store: AuthorizationStore;
  idps: IdpTrust;
  logger: Logger;
}

/** Under `{basePath}`: the authorization endpoint and its two steps. */
export const AUTHORIZATION_PATHS = {
  authorize: '/oauth2/v2/authorize',
  callback: '/oauth2/v2/authorize/callback',
  consent: '/oauth2/v2/authorize/consent',
} as const;

export type AuthorizationStep = keyof typeof AUTHORIZATION_PATHS;

/**
 * The IdpAssociation whose `login` signs users in for this Api: one associated with the Api
 * when there is one, any of the environment otherwise (the login is environment-wide: SPEC
 * "the environment's IdpAssociation login"); the first by id when several qualify, so every
 * replica picks the same. Undefined: no login configured, the endpoint is not available.
 */
export function loginIdpFor(
  api: SnapshotApi,
  idps: readonly SnapshotIdp[],
): SnapshotIdp | undefined {
  const withLogin = idps.filter((idp) => idp.login !== undefined);
  const byId = (a: SnapshotIdp, b: SnapshotIdp) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const associated = withLogin.filter((idp) => api.idps.includes(idp.id)).sort(byId);
  return associated[0] ?? withLogin.sort(byId)[0];
}
