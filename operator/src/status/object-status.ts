/**
 * An object's status, decided from what the operator knows: the compiler's result in each
 * environment the object belongs to, what the gateways of those environments report, and which
 * generation each snapshot version holds. Pure.
 *
 * - `Accepted`: False when any environment's compiler says False (its reason; with several
 *   environments the message names each), else True.
 * - `Ready` (SPEC.md: honest): True only once every ready gateway replica of each of the
 *   object's environments serves a snapshot version that holds the object's current
 *   generation. `replicas` counts the ready gateway replicas of those environments,
 *   `readyReplicas` how many of them serve the current generation. Reasons: `Loaded`,
 *   `GatewaysPending`, `NoGateways`, `NotAccepted`.
 * - An IdpAssociation also gets `Discovered` and `status.discovery` (status/idp-discovery.ts).
 */

import { canonicalJson } from '../../../gateway/src/compiler/canonical-json.ts';
import type { ObjectResult } from '../../../gateway/src/compiler/types.ts';
import type { Condition, ResourceKind } from '../../../gateway/src/resources/types.ts';
import { sameConditions, setCondition } from './conditions.ts';

export interface EnvironmentResult {
  environment: string;
  result: ObjectResult;
}

export interface ReplicaCounts {
  replicas: number;
  readyReplicas: number;
}

/** The status fields the operator writes (status is server-side applied: these are the ones it owns). */
export interface ObjectStatus {
  observedGeneration: number;
  conditions: Condition[];
  replicas: number;
  readyReplicas: number;
  [field: string]: unknown;
}

/** Status fields taken from the compiler's `details`, by kind (others are not in the CRD schema). */
const DETAIL_FIELDS: Record<ResourceKind, readonly string[]> = {
  Api: ['operations', 'defaultSecuredOperations'],
  Product: [],
  Subscription: [],
  IdpAssociation: [],
};

/** The condition types the operator writes, by kind (others' conditions are left alone). */
const OPERATOR_CONDITIONS: Record<ResourceKind, readonly string[]> = {
  Api: ['Accepted', 'Ready'],
  Product: ['Accepted', 'Ready'],
  Subscription: ['Accepted', 'Ready'],
  IdpAssociation: ['Accepted', 'Ready', 'Discovered'],
};

/** Status fields the operator sets itself, by kind (beyond counts and compiler details). */
const EXTRA_FIELDS: Record<ResourceKind, readonly string[]> = {
  Api: [],
  Product: [],
  Subscription: ['secretName', 'clientId'],
  IdpAssociation: ['discovery'],
};

export function acceptedCondition(
  generation: number,
  results: readonly EnvironmentResult[],
): Condition {
  const sorted = [...results].sort((a, b) => (a.environment < b.environment ? -1 : 1));
  const accepted = (entry: EnvironmentResult) =>
    entry.result.conditions.find((c) => c.type === 'Accepted');
  const refused = sorted.filter((entry) => accepted(entry)?.status !== 'True');
  const several = sorted.length > 1;
  if (refused.length > 0) {
    const first = accepted(refused[0] as EnvironmentResult);
    const messages = [
      ...new Set(
        refused.map(
          (entry) =>
            `${several ? `${entry.environment}: ` : ''}${accepted(entry)?.message ?? 'not accepted'}`,
        ),
      ),
    ];
    return {
      type: 'Accepted',
      status: 'False',
      reason: first?.reason ?? 'Unknown',
      message: messages.join('; '),
      observedGeneration: generation,
    };
  }
  const first = sorted[0] ? accepted(sorted[0]) : undefined;
  return {
    type: 'Accepted',
    status: 'True',
    reason: 'Accepted',
    message: first?.message ?? 'Accepted',
    observedGeneration: generation,
  };
}

/**
 * `readyByEnvironment(env)`: the ready replicas of env, each with the version it serves;
 * `generationIn(env, version)`: the object's generation in that version, if known.
 */
export function countReplicas(
  generation: number,
  environments: readonly string[],
  readyByEnvironment: (
    environment: string,
  ) => ReadonlyArray<{ snapshotVersion: string | undefined }>,
  generationIn: (environment: string, version: string) => number | undefined,
): ReplicaCounts {
  let replicas = 0;
  let readyReplicas = 0;
  for (const environment of environments) {
    for (const replica of readyByEnvironment(environment)) {
      replicas++;
      if (
        replica.snapshotVersion !== undefined &&
        generationIn(environment, replica.snapshotVersion) === generation
      ) {
        readyReplicas++;
      }
    }
  }
  return { replicas, readyReplicas };
}

export function readyCondition(
  generation: number,
  accepted: Condition,
  counts: ReplicaCounts,
  environments: readonly string[],
): Condition {
  const where =
    environments.length === 1
      ? `environment ${environments[0]}`
      : `environments ${environments.join(', ')}`;
  const condition = (status: Condition['status'], reason: string, message: string): Condition => ({
    type: 'Ready',
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  if (accepted.status !== 'True') {
    return condition('False', 'NotAccepted', `not served until Accepted (${accepted.reason})`);
  }
  if (counts.replicas === 0) {
    return condition(
      'False',
      'NoGateways',
      `no ready gateway replica in ${where}; gateways started with --source kubernetes --environment NAME report here`,
    );
  }
  if (counts.readyReplicas < counts.replicas) {
    return condition(
      'False',
      'GatewaysPending',
      `${counts.readyReplicas} of ${counts.replicas} ready gateway replicas in ${where} serve generation ${generation}`,
    );
  }
  return condition(
    'True',
    'Loaded',
    `all ${counts.replicas} ready gateway replicas in ${where} serve generation ${generation}`,
  );
}

/**
 * The whole status to apply: conditions merged into the current ones (`lastTransitionTime`
 * kept unless the status flipped), counts, and the kind's detail fields.
 */
export function desiredStatus(
  kind: ResourceKind,
  current: { conditions?: Condition[] } | undefined,
  input: {
    generation: number;
    accepted: Condition;
    ready: Condition;
    counts: ReplicaCounts;
    details: Record<string, unknown>;
    /** Kind-specific fields the operator sets itself (a Subscription's `secretName`, `clientId`). */
    extra?: Record<string, unknown>;
    /** Kind-specific conditions beyond Accepted and Ready (an IdpAssociation's `Discovered`). */
    conditions?: readonly Condition[];
  },
  now: Date,
): ObjectStatus {
  const owned = OPERATOR_CONDITIONS[kind];
  let conditions = (current?.conditions ?? []).filter((c) => owned.includes(c.type));
  for (const condition of [input.accepted, input.ready, ...(input.conditions ?? [])]) {
    if (owned.includes(condition.type)) conditions = setCondition(conditions, condition, now);
  }
  const status: ObjectStatus = {
    observedGeneration: input.generation,
    conditions,
    replicas: input.counts.replicas,
    readyReplicas: input.counts.readyReplicas,
  };
  for (const field of DETAIL_FIELDS[kind]) {
    if (input.details[field] !== undefined) status[field] = input.details[field];
  }
  for (const [field, value] of Object.entries(input.extra ?? {})) {
    if (value !== undefined) status[field] = value;
  }
  return status;
}

/** Every status field the operator writes for `kind` (it applies them: others' fields are left alone). */
export function operatorStatusFields(kind: ResourceKind): string[] {
  return [
    'observedGeneration',
    'replicas',
    'readyReplicas',
    ...DETAIL_FIELDS[kind],
    ...EXTRA_FIELDS[kind],
  ];
}

/** Whether applying `desired` would change `current`: only the fields the operator writes are compared. */
export function sameStatus(
  kind: ResourceKind,
  current: Record<string, unknown> | undefined,
  desired: ObjectStatus,
): boolean {
  if (!current) return false;
  const owned = OPERATOR_CONDITIONS[kind];
  const currentConditions = ((current.conditions as Condition[] | undefined) ?? []).filter((c) =>
    owned.includes(c.type),
  );
  if (!sameConditions(currentConditions, desired.conditions)) return false;
  // Canonical: the API server returns object fields in its own (sorted) order.
  return operatorStatusFields(kind).every(
    (field) => canonicalJson(current[field]) === canonicalJson(desired[field]),
  );
}
