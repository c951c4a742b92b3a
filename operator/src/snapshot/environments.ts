/**
 * The environments the operator keeps a snapshot and signing keys for. Pure.
 *
 * Every environment an Api names or an IdpAssociation is in, plus every environment that
 * already has a snapshot (so that when its last Api goes, its gateways get an empty snapshot
 * rather than keeping the old one forever), plus every environment a gateway reports (so a
 * gateway started for an environment with nothing in it yet becomes ready, with an empty
 * snapshot).
 */

import type { ApiResource, IdpAssociationResource } from '../../../gateway/src/resources/types.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function environmentsOf(sources: {
  apis: readonly ApiResource[];
  idpAssociations: readonly IdpAssociationResource[];
  published: Iterable<string>;
  reported: Iterable<string>;
}): string[] {
  const environments = new Set<string>();
  for (const api of sources.apis)
    for (const environment of api.spec.environments ?? []) environments.add(environment);
  for (const association of sources.idpAssociations) environments.add(association.spec.environment);
  for (const environment of sources.published) environments.add(environment);
  for (const environment of sources.reported) environments.add(environment);
  // Names end up in object names: anything else (a hand-made label or annotation) is ignored.
  return [...environments]
    .filter((environment) => typeof environment === 'string' && DNS_LABEL.test(environment))
    .sort();
}
