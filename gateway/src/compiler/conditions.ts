/**
 * The `Accepted` condition the compiler decides for each object, from the problems it found.
 * `lastTransitionTime` is left to the operator: only it knows the previous status, and the
 * time must change only when the status flips.
 */

import type { Condition } from '../resources/types.ts';

/** Every reason the compiler gives; each names what a person has to fix. */
export type AcceptedReason =
  | 'Accepted'
  /** The spec breaks a rule the CRD schema should have caught (defended here too). */
  | 'InvalidSpec'
  | 'OpenApiInvalid'
  | 'OpenApiNotFound'
  | 'BasePathConflict'
  | 'ApiNotFound'
  /** The referenced Api exists in this environment but is not Accepted itself. */
  | 'ApiNotAccepted'
  | 'ProductNotFound'
  /** The referenced Product exists but serves no Api in this environment. */
  | 'ProductNotAccepted'
  | 'NamespaceNotAllowed'
  | 'ScopeNotAllowed'
  | 'SecretNotFound'
  /** The `existingSecret` lacks a key the enabled credentials need, or a value is unusable. */
  | 'SecretInvalid'
  /** Another Subscription already holds this client id or API key. */
  | 'CredentialConflict';

export interface Problem {
  reason: Exclude<AcceptedReason, 'Accepted'>;
  message: string;
}

/**
 * `Accepted=True` when there is no problem; otherwise `Accepted=False` with the first
 * problem's reason and every problem in the message, so one status read shows all there is to
 * fix. `notes` (what is still served, what was ignored) follow in the message either way.
 */
export function acceptedCondition(
  generation: number,
  problems: readonly Problem[],
  notes: readonly string[] = [],
): Condition {
  const first = problems[0];
  return {
    type: 'Accepted',
    status: first ? 'False' : 'True',
    reason: first ? first.reason : 'Accepted',
    message: [
      ...(first ? problems.map((problem) => problem.message) : ['Accepted']),
      ...notes,
    ].join('; '),
    observedGeneration: generation,
  };
}
