/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm: a candidate
 * takes the Lease when it is free or when its holder has not renewed it for
 * `leaseDurationSeconds` *as observed locally* (so clocks need not agree); the leader renews
 * every `retryPeriodMs` and steps down when it cannot renew within `renewDeadlineMs`. Updates
 * are optimistic (resourceVersion), so two candidates can never both win. A leader that stops
 * cleanly releases the Lease, and the other replica takes over at its next retry.
 */

import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  hasStatus,
  type KubeClient,
  resourcePath,
} from '../../../gateway/src/kubernetes/kube-client.ts';
import { microTime } from '../../../gateway/src/kubernetes/micro-time.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
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
  const { client, namespace, name, identity, logger } = options;
  const path = resourcePath({
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    namespace,
    name,
  });
  const collection = resourcePath({
    group: 'coordination.k8s.io',
    version: 'v1',
    resource: 'leases',
    namespace,
  });

  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastRenew = 0;
  // What we last saw of someone else's Lease, and when we saw it change (local clock).
  let observed: { holder: string; renewTime: string; at: number } | undefined;

  async function tryAcquireOrRenew(): Promise<boolean> {
    const current = microTime(now());
    const lease = await client.get<V1Lease>(path);
    if (!lease) {
      await client.create(collection, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: current,
          renewTime: current,
          leaseTransitions: 0,
        },
      } as never);
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = String(spec.renewTime ?? '');
    if (holder && holder !== identity) {
      if (!observed || observed.holder !== holder || observed.renewTime !== renewTime) {
        observed = { holder, renewTime, at: Date.now() };
      }
      const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (Date.now() - observed.at < duration) return false;
      logger.info({ previousHolder: holder }, 'lease expired; taking over');
    }
    const ours = holder === identity;
    await client.replace(path, {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: (ours ? spec.acquireTime : current) as never,
        renewTime: current as never,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    });
    return true;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      const ok = await tryAcquireOrRenew();
      if (ok) lastRenew = Date.now();
      if (stopped) return;
      if (ok && !leader) {
        leader = true;
        logger.info({ lease: `${namespace}/${name}`, identity }, 'became leader');
        // Not awaited: renewals must go on while the leader starts its work.
        void Promise.resolve()
          .then(options.onStartedLeading)
          .catch((error: unknown) =>
            logger.error({ err: (error as Error).message }, 'starting to lead failed'),
          );
      } else if (!ok && leader) {
        loseLeadership('another candidate holds the lease');
      }
    } catch (error) {
      // A conflict means another candidate wrote first; anything else is an API outage.
      if (!hasStatus(error, 409))
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
        const lease = await client.get<V1Lease>(path);
        if (lease?.spec?.holderIdentity === identity) {
          // Released: a holder-less lease, which the next candidate takes at once.
          const { holderIdentity: _holder, ...spec } = lease.spec;
          await client.replace(path, { ...lease, spec: { ...spec, leaseDurationSeconds: 1 } });
        }
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not release the lease');
      }
    },
  };
}
