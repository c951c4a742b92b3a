import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  freshReports,
  idpHealthSignature,
  publishedEverywhere,
  readyReplicas,
  reportsSignature,
} from '../../../operator/src/gateways/gateway-reports.ts';

const lease = (
  identity: string,
  renewTime: string,
  annotations: Record<string, string>,
): V1Lease => ({
  metadata: { name: `apiway-gw-alpha.${identity}`, annotations },
  spec: { holderIdentity: identity, renewTime: renewTime as never, leaseDurationSeconds: 15 },
});

describe('gateway reports', () => {
  const now = new Date('2026-01-01T00:00:20Z');
  const leases = [
    lease('gw-1', '2026-01-01T00:00:10.123456Z', {
      'apiway.net/environment': 'alpha',
      'apiway.net/snapshot-version': 'v2',
      'apiway.net/signing-key-ids': 'a,b',
    }),
    lease('gw-2', '2026-01-01T00:00:19.000000Z', { 'apiway.net/environment': 'alpha' }),
    lease('gw-3', '2026-01-01T00:00:01.000000Z', {
      'apiway.net/environment': 'alpha',
      'apiway.net/snapshot-version': 'v1',
    }),
    lease('gw-4', '2026-01-01T00:00:15.000000Z', {
      'apiway.net/environment': 'beta',
      'apiway.net/snapshot-version': 'v7',
    }),
  ];

  it('counts a gateway while its Lease is fresh, and as ready once it serves a snapshot', () => {
    const reports = freshReports(leases, now);
    expect([...reports.keys()].sort()).toEqual(['alpha', 'beta']);
    // gw-3 stopped renewing 19 s ago (lease 15 s): gone. gw-2 has loaded nothing yet.
    expect(reports.get('alpha')?.map((r) => r.identity)).toEqual(['gw-1', 'gw-2']);
    expect(readyReplicas(reports.get('alpha')).map((r) => r.identity)).toEqual(['gw-1']);
  });

  it('says whether every ready gateway publishes a key, and changes signature with what they serve', () => {
    const ready = readyReplicas(freshReports(leases, now).get('alpha'));
    expect(publishedEverywhere(ready, 'a')).toBe(true);
    expect(publishedEverywhere(ready, 'c')).toBe(false);
    expect(publishedEverywhere([], 'c')).toBe(true);
    const later = freshReports(
      [
        lease('gw-1', '2026-01-01T00:00:19Z', {
          'apiway.net/environment': 'alpha',
          'apiway.net/snapshot-version': 'v3',
          'apiway.net/signing-key-ids': 'a,b',
        }),
      ],
      now,
    );
    expect(reportsSignature(later.get('alpha'))).not.toBe(
      reportsSignature(readyReplicas(freshReports(leases, now).get('alpha'))),
    );
  });

  it('reads the IdP health a ready gateway reports, and signals its changes apart', () => {
    const health = (healthy: boolean) =>
      JSON.stringify({
        'platform/acme': {
          issuer: 'https://idp.example',
          healthy,
          keys: healthy ? 1 : 0,
          lastCheckTime: '2026-01-01T00:00:18Z',
          message: healthy ? '' : 'ECONNREFUSED',
        },
      });
    const report = (text: string) =>
      freshReports(
        [
          lease('gw-1', '2026-01-01T00:00:19Z', {
            'apiway.net/environment': 'alpha',
            'apiway.net/snapshot-version': 'v3',
            'apiway.net/idp-health': text,
          }),
        ],
        now,
      ).get('alpha');
    const up = report(health(true));
    const down = report(health(false));
    expect(up?.[0]?.idpHealth.get('platform/acme')).toMatchObject({ healthy: true, keys: 1 });
    expect(idpHealthSignature(up)).not.toBe(idpHealthSignature(down));
    // Health alone does not change what the other controllers look at.
    expect(reportsSignature(up)).toBe(reportsSignature(down));
    expect(report('garbage')?.[0]?.idpHealth.size).toBe(0);
  });
});
