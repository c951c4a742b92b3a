import { describe, expect, it } from 'vitest';
import type {
  SigningAlgorithm,
  SigningKey,
  SigningKeySet,
} from '../../../gateway/src/oauth/signing-keys.ts';
import {
  applyRotation,
  MAX_TOKEN_TTL_MS,
  planRotation,
  RETIRED_MARGIN_MS,
  type RotationPlan,
  type RotationStep,
} from '../../../operator/src/signing/rotation.ts';

const HOUR = 3_600_000;
const policy = { rotationIntervalMs: 720 * HOUR, publishLeadMs: HOUR / 6 };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

let counter = 0;
function fakeKey(alg: SigningAlgorithm): SigningKey {
  counter++;
  return {
    kid: `${alg}-${counter}`,
    alg,
    state: 'active',
    privateJwk: { kty: alg === 'ES256' ? 'EC' : 'RSA' },
  };
}

/** Runs a plan the way the controller does, with fake keys in place of generated ones. */
function run(set: SigningKeySet, now: Date, published: (kid: string) => boolean = () => true) {
  const plan = planRotation(set, now, policy, published);
  const created = new Map<RotationStep, SigningKey>();
  for (const step of plan.steps) if (step.action === 'create') created.set(step, fakeKey(step.alg));
  return { plan, set: applyRotation(set, plan.steps, now, policy, created) };
}

const states = (set: SigningKeySet) => set.keys.map((key) => `${key.alg}:${key.state}`).sort();
const actions = (plan: RotationPlan) => plan.steps.map((step) => step.action);

describe('signing key rotation', () => {
  it('gives a new environment one active key per algorithm at once, and nothing more until the next is due', () => {
    const first = run({ keys: [] }, t0);
    expect(states(first.set)).toEqual(['ES256:active', 'RS256:active']);
    expect(first.plan.recheckAt).toEqual(at(policy.rotationIntervalMs - policy.publishLeadMs));

    const later = run(first.set, at(HOUR));
    expect(later.plan.steps).toEqual([]);
    expect(later.set).toEqual(first.set);
  });

  it('publishes the next key a lead before the rotation, and signs with it only after', () => {
    const { set } = run({ keys: [] }, t0);
    const dueSoon = at(policy.rotationIntervalMs - policy.publishLeadMs);
    const published = run(set, dueSoon);
    expect(states(published.set)).toEqual([
      'ES256:active',
      'ES256:next',
      'RS256:active',
      'RS256:next',
    ]);
    const next = published.set.keys.find(
      (key) => key.alg === 'ES256' && key.state === 'next',
    ) as SigningKey;
    expect(next.activateAfter).toBe(at(policy.rotationIntervalMs).toISOString());
    expect(published.plan.recheckAt).toEqual(at(policy.rotationIntervalMs));

    // Before activateAfter nothing changes, whatever the gateways say.
    expect(run(published.set, at(policy.rotationIntervalMs - 1)).plan.steps).toEqual([]);
  });

  it('promotes the next key only once every ready gateway publishes it', () => {
    const { set } = run({ keys: [] }, t0);
    const withNext = run(set, at(policy.rotationIntervalMs - policy.publishLeadMs)).set;
    const due = at(policy.rotationIntervalMs);

    const waiting = run(withNext, due, () => false);
    expect(waiting.plan.steps).toEqual([]);
    expect(waiting.plan.recheckAt?.getTime()).toBeGreaterThan(due.getTime());

    const promoted = run(withNext, due, () => true);
    expect(actions(promoted.plan)).toEqual(['promote', 'promote']);
    expect(states(promoted.set)).toEqual([
      'ES256:active',
      'ES256:retired',
      'RS256:active',
      'RS256:retired',
    ]);
    for (const key of promoted.set.keys.filter((k) => k.state === 'retired')) {
      // Published until every token it signed (at most the longest TTL) has expired.
      expect(key.retireAfter).toBe(
        new Date(due.getTime() + MAX_TOKEN_TTL_MS + RETIRED_MARGIN_MS).toISOString(),
      );
    }
    // The promoted key is the one that was published as next.
    const nextKids = withNext.keys
      .filter((k) => k.state === 'next')
      .map((k) => k.kid)
      .sort();
    expect(
      promoted.set.keys
        .filter((k) => k.state === 'active')
        .map((k) => k.kid)
        .sort(),
    ).toEqual(nextKids);
  });

  it('drops a retired key once its tokens have expired, not before', () => {
    const retired: SigningKey = {
      ...fakeKey('ES256'),
      state: 'retired',
      retireAfter: at(HOUR).toISOString(),
    };
    const { set } = run({ keys: [] }, t0);
    const keys = { keys: [...set.keys, retired] };
    expect(run(keys, at(HOUR - 1)).set.keys.map((k) => k.kid)).toContain(retired.kid);
    expect(run(keys, at(HOUR - 1)).plan.recheckAt).toEqual(at(HOUR));
    expect(run(keys, at(HOUR)).set.keys.map((k) => k.kid)).not.toContain(retired.kid);
  });

  it('repairs a hand-edited set: a second active key retires, a lone next key is promoted', () => {
    const older: SigningKey = { ...fakeKey('ES256'), activateAfter: t0.toISOString() };
    const newer: SigningKey = { ...fakeKey('ES256'), activateAfter: at(HOUR).toISOString() };
    const lone: SigningKey = {
      ...fakeKey('RS256'),
      state: 'next',
      activateAfter: at(10 * HOUR).toISOString(),
    };
    const { set } = run({ keys: [older, newer, lone] }, at(2 * HOUR));
    expect(set.keys.find((k) => k.kid === older.kid)?.state).toBe('retired');
    expect(set.keys.find((k) => k.kid === newer.kid)?.state).toBe('active');
    expect(set.keys.find((k) => k.kid === lone.kid)?.state).toBe('active');
  });
});
