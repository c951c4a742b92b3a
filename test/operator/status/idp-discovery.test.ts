import { describe, expect, it } from 'vitest';
import type { ReportedIdpHealth } from '../../../gateway/src/kubernetes/idp-health-report.ts';
import { foldDiscovery } from '../../../operator/src/status/idp-discovery.ts';
import {
  desiredStatus,
  type ObjectStatus,
  sameStatus,
} from '../../../operator/src/status/object-status.ts';

const ISSUER = 'https://idp.example';
const ID = 'platform/acme';
const input = { generation: 3, id: ID, issuer: ISSUER, environment: 'alpha' };
const ok = (check: string, success = check): ReportedIdpHealth => ({
  issuer: ISSUER,
  healthy: true,
  keys: 2,
  jwksUri: `${ISSUER}/keys`,
  lastCheckTime: check,
  lastSuccessTime: success,
  message: '',
});
const replica = (identity: string, health?: ReportedIdpHealth) => ({
  identity,
  idpHealth: new Map(health ? [[ID, health]] : []),
});

describe('the discovery status of an IdpAssociation, from its gateways', () => {
  it('is healthy and Discovered once every ready replica holds the keys', () => {
    const folded = foldDiscovery(input, [
      replica('gw-2', ok('2026-01-01T10:00:05Z')),
      replica('gw-1', ok('2026-01-01T10:00:01Z')),
    ]);
    expect(folded.discovery).toEqual({
      healthy: true,
      jwksUri: `${ISSUER}/keys`,
      keys: 2,
      lastCheckTime: '2026-01-01T10:00:05Z',
      lastSuccessTime: '2026-01-01T10:00:05Z',
      message: '',
    });
    expect(folded.condition).toMatchObject({
      type: 'Discovered',
      status: 'True',
      reason: 'KeysLoaded',
      observedGeneration: 3,
    });
  });

  it('is unhealthy when one replica cannot use the IdP, and names it', () => {
    const failing: ReportedIdpHealth = {
      ...ok('2026-01-01T10:00:07Z', '2026-01-01T09:50:00Z'),
      healthy: false,
      message: 'the signing keys could not be refreshed',
    };
    const folded = foldDiscovery(input, [
      replica('gw-1', ok('2026-01-01T10:00:01Z')),
      replica('gw-2', failing),
    ]);
    expect(folded.discovery).toMatchObject({
      healthy: false,
      lastCheckTime: '2026-01-01T10:00:07Z',
      lastSuccessTime: '2026-01-01T10:00:01Z',
      message: 'the signing keys could not be refreshed (gateway gw-2)',
    });
    expect(folded.condition).toMatchObject({ status: 'False', reason: 'DiscoveryFailed' });
    expect(folded.condition.message).toContain('1 of 2 ready gateway replicas');
    expect(folded.condition.message).toContain('gw-2: the signing keys could not be refreshed');
  });

  it('is Unknown until every ready replica reported on the current issuer', () => {
    const noGateway = foldDiscovery(input, []);
    expect(noGateway.discovery).toBeUndefined();
    expect(noGateway.condition).toMatchObject({ status: 'Unknown', reason: 'NotReported' });

    // gw-2 still reports the issuer the spec had before; gw-3 has not checked yet.
    const partial = foldDiscovery(input, [
      replica('gw-1', ok('2026-01-01T10:00:01Z')),
      replica('gw-2', { ...ok('2026-01-01T10:00:01Z'), issuer: 'https://old.example' }),
      replica('gw-3', { issuer: ISSUER, healthy: false, keys: 0, message: 'not checked yet' }),
      replica('gw-4'),
    ]);
    expect(partial.discovery).toMatchObject({ healthy: true, keys: 2 });
    expect(partial.condition).toMatchObject({ status: 'Unknown', reason: 'NotReported' });
    expect(partial.condition.message).toContain('1 of 4 ready gateway replicas');
  });
});

describe('the status written for an IdpAssociation', () => {
  const now = new Date('2026-01-01T10:00:10Z');
  const condition = (type: string, status: 'True' | 'False') => ({
    type,
    status,
    reason: status === 'True' ? 'Ok' : 'Failed',
    message: '',
    observedGeneration: 3,
  });
  const status = (discovered: ReturnType<typeof foldDiscovery>, current?: ObjectStatus) =>
    desiredStatus(
      'IdpAssociation',
      current,
      {
        generation: 3,
        accepted: condition('Accepted', 'True'),
        ready: condition('Ready', 'True'),
        counts: { replicas: 1, readyReplicas: 1 },
        details: {},
        extra: { discovery: discovered.discovery },
        conditions: [discovered.condition],
      },
      now,
    );

  it('carries Discovered and status.discovery, and is rewritten when either changes', () => {
    const healthy = status(foldDiscovery(input, [replica('gw-1', ok('2026-01-01T10:00:01Z'))]));
    expect(healthy.conditions.map((c) => c.type)).toEqual(['Accepted', 'Ready', 'Discovered']);
    expect(healthy.discovery).toMatchObject({ healthy: true });
    // Read back with its keys in another order: still the same status.
    const stored = structuredClone(healthy);
    stored.discovery = Object.fromEntries(Object.entries(healthy.discovery as object).reverse());
    expect(sameStatus('IdpAssociation', stored, healthy)).toBe(true);

    const rechecked = status(
      foldDiscovery(input, [replica('gw-1', ok('2026-01-01T10:05:01Z'))]),
      stored,
    );
    expect(sameStatus('IdpAssociation', stored, rechecked)).toBe(false);
  });
});
