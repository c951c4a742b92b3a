/**
 * When the signing keys of an environment change. Pure: the controller generates the keys a
 * plan asks for and writes the result.
 *
 * Per algorithm (ES256 and RS256) there is one `active` key, which signs. Rotation, on a
 * schedule:
 * 1. `publishLead` before the active key is due, a `next` key is created: gateways publish it in
 *    the JWKS (and accept it) but do not sign with it;
 * 2. once its `activateAfter` has passed AND every ready gateway of the environment reports
 *    publishing it, it is promoted: it signs from then on, and the old active key becomes
 *    `retired`, still published and accepted until `retireAfter` = now + the longest token
 *    lifetime + a margin, so every token it signed expires before it disappears;
 * 3. a retired key past `retireAfter` is dropped.
 * So no token is ever signed by a key that a gateway does not publish, and none is invalidated
 * by a rotation. A set with no key at all (a new environment) gets active keys at once: no
 * token can exist yet.
 */

import type {
  SigningAlgorithm,
  SigningKey,
  SigningKeySet,
} from '../../../gateway/src/oauth/signing-keys.ts';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];
/** The longest access-token lifetime an Api may set (`tokens.ttlSeconds` maximum in the CRD). */
export const MAX_TOKEN_TTL_MS = 86_400_000;
/** Clock skew and in-flight requests, on top of the longest token lifetime. */
export const RETIRED_MARGIN_MS = 60_000;
/** How soon to look again when a promotion waits for gateways to publish the next key. */
export const PUBLICATION_RECHECK_MS = 5_000;

export interface RotationPolicy {
  rotationIntervalMs: number;
  publishLeadMs: number;
  /** How long a retired key stays published (default: longest token lifetime + margin). */
  retiredKeepMs?: number;
}

export type RotationStep =
  /** Generate a key of `alg` in `state`. */
  | { action: 'create'; alg: SigningAlgorithm; state: 'active' | 'next'; activateAfter: string }
  /** The `next` key `kid` starts signing; its algorithm's active key (if any) retires. */
  | { action: 'promote'; kid: string }
  /** An extra active key (a hand-edited set) retires. */
  | { action: 'retire'; kid: string }
  | { action: 'drop'; kid: string };

export interface RotationPlan {
  steps: RotationStep[];
  /** When the plan would change next (a key due, a promotion, a retired key to drop). */
  recheckAt: Date | undefined;
}

export function planRotation(
  set: SigningKeySet,
  now: Date,
  policy: RotationPolicy,
  isPublishedEverywhere: (kid: string) => boolean,
): RotationPlan {
  const t = now.getTime();
  const steps: RotationStep[] = [];
  const rechecks: number[] = [];

  for (const alg of SIGNING_ALGORITHMS) {
    const actives = newestFirst(
      set.keys.filter((key) => key.alg === alg && key.state === 'active'),
    );
    const nexts = newestFirst(set.keys.filter((key) => key.alg === alg && key.state === 'next'));
    for (const extra of actives.slice(1)) steps.push({ action: 'retire', kid: extra.kid });
    for (const extra of nexts.slice(1)) steps.push({ action: 'drop', kid: extra.kid });
    const active = actives[0];
    const next = nexts[0];

    if (!active && !next) {
      steps.push({ action: 'create', alg, state: 'active', activateAfter: now.toISOString() });
      rechecks.push(t + policy.rotationIntervalMs - policy.publishLeadMs);
      continue;
    }
    if (!active && next) {
      // Nothing signs for this algorithm: the next key is better than none, at once.
      steps.push({ action: 'promote', kid: next.kid });
      rechecks.push(t + policy.rotationIntervalMs - policy.publishLeadMs);
      continue;
    }
    const since = timeOf(active?.activateAfter ?? active?.createdAt);
    const dueAt = (since ?? Number.NEGATIVE_INFINITY) + policy.rotationIntervalMs;
    if (!next) {
      if (t >= dueAt - policy.publishLeadMs) {
        const activateAt = Math.max(dueAt, t + policy.publishLeadMs);
        steps.push({
          action: 'create',
          alg,
          state: 'next',
          activateAfter: new Date(activateAt).toISOString(),
        });
        rechecks.push(activateAt);
      } else {
        rechecks.push(dueAt - policy.publishLeadMs);
      }
      continue;
    }
    const activateAt = timeOf(next.activateAfter) ?? t;
    if (t < activateAt) {
      rechecks.push(activateAt);
    } else if (isPublishedEverywhere(next.kid)) {
      steps.push({ action: 'promote', kid: next.kid });
      rechecks.push(t + policy.rotationIntervalMs - policy.publishLeadMs);
    } else {
      rechecks.push(t + PUBLICATION_RECHECK_MS);
    }
  }

  for (const key of set.keys) {
    if (key.state !== 'retired' || !SIGNING_ALGORITHMS.includes(key.alg)) continue;
    const retireAfter = timeOf(key.retireAfter);
    // Unbounded or unreadable: gateways already refuse it (fail closed); nothing to keep.
    if (retireAfter === undefined || retireAfter <= t) steps.push({ action: 'drop', kid: key.kid });
    else rechecks.push(retireAfter);
  }

  return {
    steps,
    recheckAt: rechecks.length === 0 ? undefined : new Date(Math.max(t, Math.min(...rechecks))),
  };
}

/**
 * The key set after `steps`. `created` holds the generated key for each `create` step (the
 * controller generates them: that is the only impure part of a rotation).
 */
export function applyRotation(
  set: SigningKeySet,
  steps: readonly RotationStep[],
  now: Date,
  policy: RotationPolicy,
  created: ReadonlyMap<RotationStep, SigningKey>,
): SigningKeySet {
  const retireAfter = new Date(
    now.getTime() + (policy.retiredKeepMs ?? MAX_TOKEN_TTL_MS + RETIRED_MARGIN_MS),
  ).toISOString();
  let keys: SigningKey[] = set.keys.map((key) => ({ ...key }));
  const retire = (key: SigningKey) => {
    key.state = 'retired';
    key.retireAfter = retireAfter;
  };
  for (const step of steps) {
    if (step.action === 'create') {
      const key = created.get(step);
      if (!key) throw new Error(`no key was generated for a ${step.state} ${step.alg} key`);
      keys.push({
        ...key,
        state: step.state,
        createdAt: now.toISOString(),
        activateAfter: step.activateAfter,
      });
    } else if (step.action === 'promote') {
      const next = keys.find((key) => key.kid === step.kid);
      if (!next) continue;
      for (const key of keys) if (key.alg === next.alg && key.state === 'active') retire(key);
      next.state = 'active';
      next.activateAfter = now.toISOString();
    } else if (step.action === 'retire') {
      const key = keys.find((k) => k.kid === step.kid);
      if (key) retire(key);
    } else {
      keys = keys.filter((key) => key.kid !== step.kid);
    }
  }
  return { keys };
}

function newestFirst(keys: SigningKey[]): SigningKey[] {
  const at = (key: SigningKey) => timeOf(key.activateAfter ?? key.createdAt) ?? 0;
  return [...keys].sort((a, b) => at(b) - at(a) || (a.kid < b.kid ? -1 : 1));
}

function timeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}
