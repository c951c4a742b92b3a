/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm: a candidate
 * takes the Lease when it is free or when its holder has not renewed it for
 * `leaseDurationSeconds` *as observed locally* (so clocks need not agree); the leader renews
 * every `retryPeriodMs` and steps down when it cannot renew within `renewDeadlineMs`. Updates
 * are optimistic (resourceVersion), so two candidates can never both win. A leader that stops
 * cleanly releases the Lease, and the other replica takes over at its next retry.
 */

import { ApiException, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { microTime } from '../../../gateway/src/kubernetes/micro-time.ts';

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  /** Called when leadership is lost: the process should stop reconciling (and usually exit). */
  onStoppedLeading: () => void;
  now?: () => Date;
}

export interface LeaderElector {
  readonly isLeader: boolean;
  /** Stops campaigning; a leader releases the Lease so another replica takes over at once. */
  stop(): Promise<void>;
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const leaseDurationSeconds = options.leaseDurationSeconds ?? 10;
  const renewDeadlineMs = options.renewDeadlineMs ?? 7_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const now = options.now ?? (() => new Date());
  const { coordination, namespace, name, identity, logger } = options;

  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastRenew = 0;
  // What we last saw of someone else's Lease, and when we saw it change (local clock).
  let observed: { holder: string; renewTime: string; at: number } | undefined;

  async function tryAcquireOrRenew(): Promise<boolean> {
    const current = now();
    let lease: V1Lease | undefined;
    try {
      lease = await coordination.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!(error instanceof ApiException && error.code === 404)) throw error;
    }
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: microTime(current),
      renewTime: microTime(current),
      leaseTransitions: 0,
    };
    if (!lease) {
      await coordination.createNamespacedLease({
        namespace,
        body: { metadata: { name, namespace }, spec: spec as never },
      });
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = String(lease.spec?.renewTime ?? '');
    if (holder && holder !== identity) {
      if (!observed || observed.holder !== holder || observed.renewTime !== renewTime) {
        observed = { holder, renewTime, at: Date.now() };
      }
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (Date.now() - observed.at < duration) return false;
      logger.info({ previousHolder: holder }, 'lease expired; taking over');
    }
    const transitions = lease.spec?.leaseTransitions ?? 0;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        acquireTime: (holder === identity ? lease.spec?.acquireTime : spec.acquireTime) as never,
        renewTime: spec.renewTime as never,
        leaseTransitions: holder === identity ? transitions : transitions + 1,
      },
    };
    await coordination.replaceNamespacedLease({ name, namespace, body });
    return true;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      const ok = await tryAcquireOrRenew();
      if (ok) lastRenew = Date.now();
      if (ok && !leader) {
        leader = true;
        logger.info({ lease: `${namespace}/${name}`, identity }, 'became leader');
        await options.onStartedLeading();
      } else if (!ok && leader) {
        loseLeadership('another candidate holds the lease');
      }
    } catch (error) {
      // A conflict means another candidate wrote first; anything else is an API outage.
      logger.debug({ err: (error as Error).message }, 'lease update failed');
      if (leader && Date.now() - lastRenew > renewDeadlineMs) {
        loseLeadership('could not renew the lease in time');
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), retryPeriodMs);
  }

  function loseLeadership(reason: string): void {
    leader = false;
    logger.warn({ reason }, 'lost leadership');
    options.onStoppedLeading();
  }

  void tick();

  return {
    get isLeader() {
      return leader;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (!leader) return;
      leader = false;
      try {
        const lease = await coordination.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity === identity) {
          // Released: an expired, holder-less lease that the next candidate takes at once.
          lease.spec.holderIdentity = undefined as never;
          lease.spec.leaseDurationSeconds = 1;
          await coordination.replaceNamespacedLease({ name, namespace, body: lease });
        }
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not release the lease');
      }
    },
  };
}
