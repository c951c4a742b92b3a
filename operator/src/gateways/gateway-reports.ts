/**
 * What the gateways report through their Leases (see gateway/src/kubernetes/gateway-report.ts),
 * read by the operator. Pure.
 *
 * A report is fresh while `renewTime + leaseDurationSeconds` has not passed by the operator's
 * clock (so operator and gateways are assumed to agree on time to within a few seconds, as
 * Kubernetes node heartbeats are). A fresh report that names a snapshot version is a ready
 * replica of its environment; one without a version is a gateway still waiting for its first
 * snapshot, which announces its environment (so the operator publishes one for it) but does
 * not count.
 */

import type { V1Lease } from '@kubernetes/client-node';
import {
  decodeIdpHealth,
  type ReportedIdpHealth,
} from '../../../gateway/src/kubernetes/idp-health-report.ts';
import {
  REPORT_ENVIRONMENT_ANNOTATION,
  REPORT_IDP_HEALTH_ANNOTATION,
  REPORT_SIGNING_KEY_IDS_ANNOTATION,
  REPORT_SNAPSHOT_VERSION_ANNOTATION,
} from '../../../gateway/src/kubernetes/names.ts';

export interface GatewayReport {
  identity: string;
  environment: string;
  /** Absent until the gateway loaded a snapshot. */
  snapshotVersion: string | undefined;
  /** The `kid`s it publishes in its JWKS. */
  signingKeyIds: string[];
  /** Discovery and key health of each IdpAssociation it trusts, by `namespace/name`. */
  idpHealth: Map<string, ReportedIdpHealth>;
  /** The health annotation as written: tells cheaply whether it changed. */
  idpHealthText: string;
  /** Epoch ms after which the report is stale. */
  expiresAt: number;
}

export function readGatewayReport(lease: V1Lease): GatewayReport | undefined {
  const annotations = lease.metadata?.annotations ?? {};
  const environment = annotations[REPORT_ENVIRONMENT_ANNOTATION];
  const renewTime = Date.parse(String(lease.spec?.renewTime ?? ''));
  if (!environment || Number.isNaN(renewTime)) return undefined;
  const version = annotations[REPORT_SNAPSHOT_VERSION_ANNOTATION];
  const kids = annotations[REPORT_SIGNING_KEY_IDS_ANNOTATION];
  return {
    identity: lease.spec?.holderIdentity ?? lease.metadata?.name ?? '',
    environment,
    snapshotVersion: version ? version : undefined,
    signingKeyIds: kids ? kids.split(',').filter(Boolean) : [],
    idpHealth: decodeIdpHealth(annotations[REPORT_IDP_HEALTH_ANNOTATION]),
    idpHealthText: annotations[REPORT_IDP_HEALTH_ANNOTATION] ?? '',
    expiresAt: renewTime + (lease.spec?.leaseDurationSeconds ?? 15) * 1000,
  };
}

/** Fresh reports by environment, each list sorted by identity. */
export function freshReports(leases: readonly V1Lease[], now: Date): Map<string, GatewayReport[]> {
  const byEnvironment = new Map<string, GatewayReport[]>();
  for (const lease of leases) {
    const report = readGatewayReport(lease);
    if (!report || report.expiresAt <= now.getTime()) continue;
    const list = byEnvironment.get(report.environment);
    if (list) list.push(report);
    else byEnvironment.set(report.environment, [report]);
  }
  for (const list of byEnvironment.values())
    list.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  return byEnvironment;
}

/** The ready replicas: fresh reports that serve a snapshot. */
export function readyReplicas(reports: readonly GatewayReport[] | undefined): GatewayReport[] {
  return (reports ?? []).filter((report) => report.snapshotVersion !== undefined);
}

/** Changes whenever who is ready, what they serve or what they publish changes. */
export function reportsSignature(reports: readonly GatewayReport[] | undefined): string {
  return (reports ?? [])
    .map((r) => `${r.identity}=${r.snapshotVersion ?? ''}:${r.signingKeyIds.join(',')}`)
    .join(';');
}

/**
 * Changes whenever the IdP health a ready replica reports changes (or who is ready): kept apart
 * from `reportsSignature` so that it queues the IdpAssociations only, not every object.
 */
export function idpHealthSignature(reports: readonly GatewayReport[] | undefined): string {
  return readyReplicas(reports)
    .map((r) => `${r.identity}=${r.snapshotVersion}:${r.idpHealthText}`)
    .join(';');
}

/** Every fresh gateway publishes `kid` (true when there is none: no gateway can be behind). */
export function publishedEverywhere(
  reports: readonly GatewayReport[] | undefined,
  kid: string,
): boolean {
  return (reports ?? []).every((report) => report.signingKeyIds.includes(kid));
}
