/**
 * Kubernetes Events (core/v1) for what a person should see in `kubectl describe`: credentials
 * issued or rotated, an object no longer Accepted. Best effort: a failure to record one is
 * logged, never retried and never fails a reconcile. The same event for the same object is
 * recorded at most once per `dedupeMs` (a flapping object does not flood the namespace).
 *
 * Messages are written by the controllers and never contain a secret value.
 */

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { type KubeClient, resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import { OPERATOR_NAME } from '../../../gateway/src/kubernetes/names.ts';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string };
}

export interface EventRecorder {
  record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export function createEventRecorder(options: {
  client: KubeClient;
  logger: Logger;
  /** This operator replica, as `reportingInstance`. */
  identity: string;
  now?: () => Date;
  dedupeMs?: number;
}): EventRecorder {
  const now = options.now ?? (() => new Date());
  const dedupeMs = options.dedupeMs ?? 10 * 60_000;
  const recent = new Map<string, number>();

  return {
    record(subject, type, reason, message) {
      const { name, namespace, uid } = subject.metadata;
      const at = now();
      const dedupeKey = `${uid ?? `${namespace}/${name}`}\n${reason}\n${message}`;
      const last = recent.get(dedupeKey);
      if (last !== undefined && at.getTime() - last < dedupeMs) return;
      recent.set(dedupeKey, at.getTime());
      if (recent.size > 10_000) {
        for (const [key, time] of recent) if (at.getTime() - time >= dedupeMs) recent.delete(key);
      }
      const time = `${at.toISOString().slice(0, 19)}Z`;
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
        involvedObject: {
          apiVersion: subject.apiVersion,
          kind: subject.kind,
          name,
          namespace,
          ...(uid ? { uid } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: OPERATOR_NAME },
        reportingComponent: OPERATOR_NAME,
        reportingInstance: options.identity,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      };
      options.client
        .create(resourcePath({ version: 'v1', resource: 'events', namespace }), event as never)
        .catch((error: unknown) => {
          options.logger.warn(
            { err: (error as Error).message, reason, object: `${namespace}/${name}` },
            'could not record an event',
          );
        });
    },
  };
}
