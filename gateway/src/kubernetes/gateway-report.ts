/**
 * How a gateway process tells the operator what it serves, so that `Ready` is honest: a
 * coordination.k8s.io Lease `apiway-gw-<env>.<identity>` in the system namespace, renewed every
 * few seconds, whose annotations carry the snapshot version it loaded and the `kid`s it
 * publishes. The operator counts a gateway as a ready replica while its Lease is fresh (renewed
 * within `leaseDurationSeconds`) and names a version; a gateway that dies simply stops renewing,
 * and one that stops cleanly deletes its Lease so it stops counting at once.
 *
 * It also carries the discovery and key health of each IdpAssociation the gateway trusts
 * (`apiway.net/idp-health`, idp-health-report.ts), which the operator folds into the
 * IdpAssociations' `status.discovery`. That health changes on its own (discovery runs in the
 * background), so it is looked at every `healthCheckIntervalMs` and a change is reported at once
 * rather than with the next renewal.
 *
 * Written with server-side apply (field manager `apiway-gateway`): one request creates or
 * updates it, and an annotation left out is removed.
 */

import type { Logger } from 'pino';
import type { IdpHealth } from '../idp/idp-health.ts';
import { encodeIdpHealth } from './idp-health-report.ts';
import { type KubeClient, resourcePath } from './kube-client.ts';
import { microTime } from './micro-time.ts';
import {
  GATEWAY_REPORT_LABEL,
  gatewayReportLeaseName,
  REPORT_ENVIRONMENT_ANNOTATION,
  REPORT_IDP_HEALTH_ANNOTATION,
  REPORT_SIGNING_KEY_IDS_ANNOTATION,
  REPORT_SNAPSHOT_VERSION_ANNOTATION,
} from './names.ts';

export const GATEWAY_FIELD_MANAGER = 'apiway-gateway';

export interface GatewayReportOptions {
  client: KubeClient;
  namespace: string;
  environment: string;
  identity: string;
  logger: Logger;
  /** Default 5 s. */
  renewIntervalMs?: number;
  /** Default 15 s: three missed renewals before the operator stops counting this gateway. */
  leaseDurationSeconds?: number;
  /** The health of every IdP the gateway trusts (`Gateway.idpHealth`). Absent: none reported. */
  idpHealth?: () => readonly IdpHealth[];
  /** How often the IdP health is compared with what was last reported. Default 1 s. */
  healthCheckIntervalMs?: number;
  now?: () => Date;
}

export interface LoadedState {
  snapshotVersion: string;
  signingKeyIds: readonly string[];
}

export interface GatewayReport {
  /** Reports what the gateway now serves (sent at once, then with every renewal). */
  update(state: LoadedState): void;
  /** Stops renewing and deletes the Lease. */
  stop(): Promise<void>;
}

export function startGatewayReport(options: GatewayReportOptions): GatewayReport {
  const { client, namespace, environment, identity } = options;
  const renewIntervalMs = options.renewIntervalMs ?? 5_000;
  const leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
  const now = options.now ?? (() => new Date());
  const name = gatewayReportLeaseName(environment, identity);
  const path = resourcePath({
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    namespace,
    name,
  });
  const logger = options.logger.child({ lease: `${namespace}/${name}` });

  let state: LoadedState | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let again = false;
  let failing = false;
  /** The IdP health annotation last sent (or being sent). */
  let reportedHealth: string | undefined;
  const currentHealth = () =>
    options.idpHealth ? encodeIdpHealth(options.idpHealth()) : undefined;

  async function renew(): Promise<void> {
    const annotations: Record<string, string> = { [REPORT_ENVIRONMENT_ANNOTATION]: environment };
    if (state) {
      annotations[REPORT_SNAPSHOT_VERSION_ANNOTATION] = state.snapshotVersion;
      annotations[REPORT_SIGNING_KEY_IDS_ANNOTATION] = [...state.signingKeyIds].sort().join(',');
    }
    reportedHealth = currentHealth();
    if (reportedHealth !== undefined) annotations[REPORT_IDP_HEALTH_ANNOTATION] = reportedHealth;
    try {
      await client.apply(
        path,
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace, labels: { [GATEWAY_REPORT_LABEL]: 'true' }, annotations },
          spec: { holderIdentity: identity, leaseDurationSeconds, renewTime: microTime(now()) },
        } as never,
        { fieldManager: GATEWAY_FIELD_MANAGER, force: true },
      );
      if (failing) logger.info('reporting to the API server again');
      failing = false;
    } catch (error) {
      // The API server may be down: the gateway keeps serving; the report resumes later.
      if (!failing)
        logger.warn({ err: (error as Error).message }, 'could not renew the gateway report');
      failing = true;
    }
  }

  function kick(): void {
    if (stopped) return;
    if (inFlight) {
      again = true;
      return;
    }
    clearTimeout(timer);
    inFlight = renew().finally(() => {
      inFlight = undefined;
      if (stopped) return;
      if (again) {
        again = false;
        kick();
        return;
      }
      timer = setTimeout(kick, renewIntervalMs);
      timer.unref();
    });
  }
  kick();

  const healthTimer = options.idpHealth
    ? setInterval(() => {
        if (currentHealth() !== reportedHealth) kick();
      }, options.healthCheckIntervalMs ?? 1_000)
    : undefined;
  healthTimer?.unref();

  return {
    update(next) {
      state = { snapshotVersion: next.snapshotVersion, signingKeyIds: [...next.signingKeyIds] };
      kick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearInterval(healthTimer);
      await inFlight;
      try {
        await client.delete(path);
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not delete the gateway report');
      }
    },
  };
}
