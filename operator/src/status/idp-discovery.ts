/**
 * An IdpAssociation's `status.discovery` and its `Discovered` condition, folded from what the
 * ready gateway replicas of its environment report about it (each replica discovers the IdP
 * and fetches its keys itself). Pure.
 *
 * Only reports about the association's current issuer count (a replica still serving an older
 * snapshot may report the issuer the spec had before), and only once the replica checked it.
 *
 * - `Discovered=True` (reason `KeysLoaded`): every ready replica reached the discovery document
 *   and holds the IdP's signing keys: its tokens can be verified everywhere.
 * - `Discovered=False` (reason `DiscoveryFailed`): at least one replica cannot; the message
 *   names one of them (the first by identity) and what failed.
 * - `Discovered=Unknown` (reason `NotReported`): some ready replica has not reported on this
 *   issuer yet (no gateway, not in the snapshot it serves, first check pending).
 *
 * `status.discovery` is what the replicas that reported say: `healthy` only when all of them
 * are; `jwksUri`, `keys` and `message` of the first unhealthy one (else of the one that
 * succeeded last); `lastCheckTime` and `lastSuccessTime` the latest of any replica. Absent while
 * no replica reported. `Ready` is not affected: it says which generation gateways serve
 * (SPEC.md), `Discovered` whether they can use the IdP.
 */

import type { ReportedIdpHealth } from '../../../gateway/src/kubernetes/idp-health-report.ts';
import type { Condition } from '../../../gateway/src/resources/types.ts';

/** The CRD's `status.discovery`; keys in the order the API server returns them (sorted). */
export interface DiscoveryStatus {
  healthy: boolean;
  jwksUri?: string;
  keys: number;
  lastCheckTime?: string;
  lastSuccessTime?: string;
  message: string;
}

export const DISCOVERED_CONDITION = 'Discovered';

export interface ReplicaIdpHealth {
  identity: string;
  idpHealth: ReadonlyMap<string, ReportedIdpHealth>;
}

export function foldDiscovery(
  input: {
    generation: number;
    /** `namespace/name` */
    id: string;
    issuer: string;
    environment: string;
  },
  replicas: readonly ReplicaIdpHealth[],
): { discovery?: DiscoveryStatus; condition: Condition } {
  const { generation, id, issuer, environment } = input;
  const condition = (status: Condition['status'], reason: string, message: string): Condition => ({
    type: DISCOVERED_CONDITION,
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  const sorted = [...replicas].sort((a, b) =>
    a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0,
  );
  const reported = sorted.flatMap((replica) => {
    const health = replica.idpHealth.get(id);
    return health && health.issuer === issuer && health.lastCheckTime !== undefined
      ? [{ identity: replica.identity, health }]
      : [];
  });
  const unhealthy = reported.filter((r) => !r.health.healthy);
  const latest = (field: 'lastCheckTime' | 'lastSuccessTime') =>
    reported
      .map((r) => r.health[field])
      .filter((time): time is string => time !== undefined)
      .sort((a, b) => Date.parse(b) - Date.parse(a))[0];

  let discovery: DiscoveryStatus | undefined;
  if (reported.length > 0) {
    const representative =
      unhealthy[0] ??
      [...reported].sort(
        (a, b) =>
          (Date.parse(b.health.lastSuccessTime ?? '') || 0) -
          (Date.parse(a.health.lastSuccessTime ?? '') || 0),
      )[0];
    const health = representative?.health as ReportedIdpHealth;
    const lastCheckTime = latest('lastCheckTime');
    const lastSuccessTime = latest('lastSuccessTime');
    discovery = {
      healthy: unhealthy.length === 0,
      ...(health.jwksUri === undefined ? {} : { jwksUri: health.jwksUri }),
      keys: health.keys,
      ...(lastCheckTime === undefined ? {} : { lastCheckTime }),
      ...(lastSuccessTime === undefined ? {} : { lastSuccessTime }),
      message:
        unhealthy.length === 0
          ? ''
          : `${health.message} (gateway ${representative?.identity}${unhealthy.length > 1 ? ` and ${unhealthy.length - 1} more` : ''})`,
    };
  }

  const first = unhealthy[0];
  if (first) {
    return {
      ...(discovery ? { discovery } : {}),
      condition: condition(
        'False',
        'DiscoveryFailed',
        `${unhealthy.length} of ${sorted.length} ready gateway replicas in environment ${environment} cannot use ${issuer}; gateway ${first.identity}: ${first.health.message}`,
      ),
    };
  }
  if (sorted.length === 0 || reported.length < sorted.length) {
    return {
      ...(discovery ? { discovery } : {}),
      condition: condition(
        'Unknown',
        'NotReported',
        sorted.length === 0
          ? `no ready gateway replica in environment ${environment} reports on ${issuer} yet`
          : `${reported.length} of ${sorted.length} ready gateway replicas in environment ${environment} report on ${issuer} so far (the others do not serve it yet or have not checked it)`,
      ),
    };
  }
  return {
    ...(discovery ? { discovery } : {}),
    condition: condition(
      'True',
      'KeysLoaded',
      `all ${sorted.length} ready gateway replicas in environment ${environment} read the discovery document of ${issuer} and hold its signing keys`,
    ),
  };
}
