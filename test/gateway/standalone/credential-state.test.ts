import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SubscriptionResource } from '../../../gateway/src/resources/types.ts';
import { nextExpiry, updateCredentials } from '../../../gateway/src/standalone/credential-state.ts';

const now = new Date('2025-01-01T00:00:00Z');
const subscription = (
  name: string,
  credentials: SubscriptionResource['spec']['credentials'] = {},
) =>
  ({
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Subscription',
    metadata: { namespace: 'acme', name },
    spec: { api: { name: 'design-api' }, credentials },
  }) as SubscriptionResource;
const options = { now, random: randomBytes, keep: new Set<string>(), mayForget: true };

describe('updateCredentials', () => {
  it('issues for new Subscriptions and reports that the state must be saved', () => {
    const update = updateCredentials([subscription('a')], new Map(), options);
    expect([...update.stored.keys()]).toEqual(['acme/a']);
    expect(update.issued.get('acme/a')?.apiKeys).toHaveLength(2);
    expect(update.dirty).toBe(true);
    expect(updateCredentials([subscription('a')], update.stored, options).dirty).toBe(false);
  });

  it('forgets the credentials of a Subscription that is gone', () => {
    const first = updateCredentials([subscription('a'), subscription('b')], new Map(), options);
    const second = updateCredentials([subscription('a')], first.stored, options);
    expect(second.forgotten).toEqual(['acme/b']);
    expect([...second.stored.keys()]).toEqual(['acme/a']);
  });

  it('forgets nothing while part of the dir is unreadable, nor what an invalid object still names', () => {
    const first = updateCredentials([subscription('a'), subscription('b')], new Map(), options);
    const unreadable = updateCredentials([], first.stored, { ...options, mayForget: false });
    expect([...unreadable.stored.keys()].sort()).toEqual(['acme/a', 'acme/b']);
    const invalid = updateCredentials([subscription('a')], first.stored, {
      ...options,
      keep: new Set(['acme/b']),
    });
    expect(invalid.stored.get('acme/b')).toEqual(first.stored.get('acme/b'));
    expect(invalid.forgotten).toEqual([]);
  });

  it('generates nothing for a Subscription whose credentials come from an existingSecret', () => {
    const first = updateCredentials([subscription('a')], new Map(), options);
    const moved = updateCredentials(
      [subscription('a', { existingSecret: 'legacy' })],
      first.stored,
      options,
    );
    expect(moved.stored.size).toBe(0);
    expect(moved.issued.size).toBe(0);
    expect(moved.forgotten).toEqual(['acme/a']);
  });
});

describe('nextExpiry', () => {
  it('is the earliest end of a grace period', () => {
    const first = updateCredentials([subscription('a')], new Map(), options);
    expect(nextExpiry(first.stored)).toBeUndefined();
    const rotated = updateCredentials(
      [subscription('a', { rotation: { apiKey: 1, gracePeriodSeconds: 60 } })],
      first.stored,
      options,
    );
    expect(nextExpiry(rotated.stored)?.toISOString()).toBe('2025-01-01T00:01:00.000Z');
  });
});
