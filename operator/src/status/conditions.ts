/**
 * Condition bookkeeping with the Kubernetes conventions (cert-manager's
 * `pkg/api/util/conditions.go`): `lastTransitionTime` changes only when `status` flips, every
 * condition carries the `observedGeneration` it was computed for, and order is stable.
 */

import type { Condition } from '../../../gateway/src/resources/types.ts';

/** Merge `next` into `current`, keeping `lastTransitionTime` when the status did not change. */
export function setCondition(
  current: readonly Condition[],
  next: Condition,
  now: Date,
): Condition[] {
  const previous = current.find((c) => c.type === next.type);
  const merged: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    observedGeneration: next.observedGeneration,
    lastTransitionTime:
      previous && previous.status === next.status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : rfc3339Seconds(now),
  };
  const others = current.filter((c) => c.type !== next.type);
  return [...others, merged].sort(
    (a, b) => conditionOrder(a.type) - conditionOrder(b.type) || a.type.localeCompare(b.type),
  );
}

/** True when two condition lists say the same thing (ignoring order). */
export function sameConditions(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => {
    const y = b.find((c) => c.type === x.type);
    return (
      y !== undefined &&
      y.status === x.status &&
      y.reason === x.reason &&
      y.message === x.message &&
      y.observedGeneration === x.observedGeneration &&
      y.lastTransitionTime === x.lastTransitionTime
    );
  });
}

/** metav1.Time has second precision. */
export function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function conditionOrder(type: string): number {
  return type === 'Accepted' ? 0 : type === 'Ready' ? 1 : 2;
}
