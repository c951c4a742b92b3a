import { describe, expect, it } from 'vitest';
import type { ObjectResult } from '../../../gateway/src/compiler/types.ts';
import type { Condition } from '../../../gateway/src/resources/types.ts';
import {
  acceptedCondition,
  countReplicas,
  desiredStatus,
  readyCondition,
  sameStatus,
} from '../../../operator/src/status/object-status.ts';

const accepted = (
  status: 'True' | 'False',
  reason = 'Accepted',
  message = 'Accepted',
): Condition => ({
  type: 'Accepted',
  status,
  reason,
  message,
  observedGeneration: 3,
});
const result = (condition: Condition): ObjectResult => ({
  kind: 'Api',
  namespace: 'platform',
  name: 'design-api',
  generation: 3,
  conditions: [condition],
  details: { operations: 7, defaultSecuredOperations: 1, somethingElse: true },
});

describe('Accepted, aggregated over environments', () => {
  it('is True when every environment accepts the object', () => {
    const condition = acceptedCondition(3, [
      { environment: 'beta', result: result(accepted('True')) },
      { environment: 'alpha', result: result(accepted('True')) },
    ]);
    expect(condition).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 3 });
  });

  it('is False with the first refusing environment reason, and names each environment when there are several', () => {
    const condition = acceptedCondition(3, [
      {
        environment: 'beta',
        result: result(accepted('False', 'BasePathConflict', 'basePath /x is taken')),
      },
      { environment: 'alpha', result: result(accepted('True')) },
      { environment: 'gamma', result: result(accepted('False', 'OpenApiInvalid', 'bad document')) },
    ]);
    expect(condition).toMatchObject({ status: 'False', reason: 'BasePathConflict' });
    expect(condition.message).toBe('beta: basePath /x is taken; gamma: bad document');
  });
});

describe('Ready', () => {
  const versions: Record<string, Record<string, number>> = {
    alpha: { v1: 2, v2: 3 },
    beta: { v9: 3 },
  };
  const generationIn = (environment: string, version: string) => versions[environment]?.[version];
  const replicas: Record<string, Array<{ snapshotVersion: string | undefined }>> = {
    alpha: [{ snapshotVersion: 'v2' }, { snapshotVersion: 'v1' }, { snapshotVersion: 'unknown' }],
    beta: [{ snapshotVersion: 'v9' }],
  };
  const readyBy = (environment: string) => replicas[environment] ?? [];

  it('counts the ready replicas of every environment and those that serve the current generation', () => {
    expect(countReplicas(3, ['alpha', 'beta'], readyBy, generationIn)).toEqual({
      replicas: 4,
      readyReplicas: 2,
    });
    expect(countReplicas(3, ['beta'], readyBy, generationIn)).toEqual({
      replicas: 1,
      readyReplicas: 1,
    });
    expect(countReplicas(3, ['gamma'], readyBy, generationIn)).toEqual({
      replicas: 0,
      readyReplicas: 0,
    });
  });

  it('is True only when every ready replica serves the current generation', () => {
    const ok = accepted('True');
    expect(readyCondition(3, ok, { replicas: 1, readyReplicas: 1 }, ['beta'])).toMatchObject({
      status: 'True',
      reason: 'Loaded',
    });
    expect(
      readyCondition(3, ok, { replicas: 4, readyReplicas: 2 }, ['alpha', 'beta']),
    ).toMatchObject({
      status: 'False',
      reason: 'GatewaysPending',
      message: '2 of 4 ready gateway replicas in environments alpha, beta serve generation 3',
    });
    expect(readyCondition(3, ok, { replicas: 0, readyReplicas: 0 }, ['alpha'])).toMatchObject({
      status: 'False',
      reason: 'NoGateways',
    });
    expect(
      readyCondition(3, accepted('False', 'ApiNotFound'), { replicas: 2, readyReplicas: 2 }, [
        'alpha',
      ]),
    ).toMatchObject({
      status: 'False',
      reason: 'NotAccepted',
    });
  });
});

describe('the status written', () => {
  const now = new Date('2026-01-01T10:00:00Z');
  const input = {
    generation: 3,
    accepted: accepted('True'),
    ready: readyCondition(3, accepted('True'), { replicas: 2, readyReplicas: 1 }, ['alpha']),
    counts: { replicas: 2, readyReplicas: 1 },
    details: { operations: 7, defaultSecuredOperations: 1, somethingElse: true },
  };

  it('keeps lastTransitionTime while a condition keeps its status, and carries only fields the CRD has', () => {
    const first = desiredStatus('Api', undefined, input, now);
    expect(first).toMatchObject({
      observedGeneration: 3,
      replicas: 2,
      readyReplicas: 1,
      operations: 7,
      defaultSecuredOperations: 1,
    });
    expect(first.somethingElse).toBeUndefined();
    const later = new Date('2026-01-01T11:00:00Z');
    const again = desiredStatus(
      'Api',
      first,
      { ...input, counts: { replicas: 2, readyReplicas: 2 } },
      later,
    );
    expect(again.conditions.find((c) => c.type === 'Accepted')?.lastTransitionTime).toBe(
      '2026-01-01T10:00:00Z',
    );
    const flipped = desiredStatus(
      'Api',
      first,
      {
        ...input,
        ready: readyCondition(3, input.accepted, { replicas: 2, readyReplicas: 2 }, ['alpha']),
      },
      later,
    );
    expect(flipped.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(
      '2026-01-01T11:00:00Z',
    );
  });

  it('is not written again when nothing the operator owns changed', () => {
    const status = desiredStatus(
      'Subscription',
      undefined,
      { ...input, extra: { secretName: 's', clientId: 'c' } },
      now,
    );
    const current = { ...structuredClone(status), discovery: { healthy: true } };
    expect(sameStatus('Subscription', current, status)).toBe(true);
    expect(sameStatus('Subscription', { ...current, clientId: 'other' }, status)).toBe(false);
    const { clientId: _dropped, ...withoutClientId } = status;
    const desiredWithout = desiredStatus(
      'Subscription',
      undefined,
      { ...input, extra: { secretName: 's' } },
      now,
    );
    expect(sameStatus('Subscription', current, desiredWithout)).toBe(false);
    expect(sameStatus('Subscription', { ...withoutClientId }, desiredWithout)).toBe(true);
  });
});
