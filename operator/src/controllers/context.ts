/** What every controller receives from the manager (nothing is read from globals). */

import type { Logger } from 'pino';
import type { KubeClient } from '../../../gateway/src/kubernetes/kube-client.ts';
import type { Caches } from '../kube/caches.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { OperatorMetrics } from '../metrics.ts';

export interface ControllerContext {
  client: KubeClient;
  caches: Caches;
  events: EventRecorder;
  logger: Logger;
  metrics: OperatorMetrics;
  systemNamespace: string;
  now: () => Date;
}

/** The field manager of everything the operator applies (server-side apply). */
export const FIELD_MANAGER = 'apiway-operator';

/** Splits a `namespace/name` work-queue key. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
