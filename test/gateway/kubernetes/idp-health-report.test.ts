import { describe, expect, it } from 'vitest';
import type { IdpHealth } from '../../../gateway/src/idp/idp-health.ts';
import {
  decodeIdpHealth,
  encodeIdpHealth,
} from '../../../gateway/src/kubernetes/idp-health-report.ts';

const healthy: IdpHealth = {
  id: 'platform/acme-b2c',
  issuer: 'https://acme.example/tenant/v2.0/',
  healthy: true,
  discovered: true,
  keys: 2,
  jwksUri: 'https://acme.example/tenant/discovery/keys',
  lastCheckTime: '2026-01-01T10:00:00.123Z',
  lastSuccessTime: '2026-01-01T10:00:00.456Z',
  message: '',
};
const failing: IdpHealth = {
  id: 'platform/corporate',
  issuer: 'https://login.corporate.example',
  healthy: false,
  discovered: false,
  keys: 0,
  lastCheckTime: '2026-01-01T10:00:01.000Z',
  message:
    'discovery document https://login.corporate.example/.well-known/openid-configuration could not be fetched: ECONNREFUSED',
};

describe('the IdP health a gateway reports in its Lease', () => {
  it('reads back what was written, per IdpAssociation, in second precision', () => {
    const text = encodeIdpHealth([failing, healthy]);
    expect(text).toBeDefined();
    const decoded = decodeIdpHealth(text);
    expect([...decoded.keys()]).toEqual(['platform/acme-b2c', 'platform/corporate']);
    expect(decoded.get('platform/acme-b2c')).toEqual({
      issuer: healthy.issuer,
      healthy: true,
      keys: 2,
      jwksUri: healthy.jwksUri,
      lastCheckTime: '2026-01-01T10:00:00Z',
      lastSuccessTime: '2026-01-01T10:00:00Z',
      message: '',
    });
    expect(decoded.get('platform/corporate')).toEqual({
      issuer: failing.issuer,
      healthy: false,
      keys: 0,
      lastCheckTime: '2026-01-01T10:00:01Z',
      message: failing.message,
    });
  });

  it('reports nothing when the gateway trusts no IdP', () => {
    expect(encodeIdpHealth([])).toBeUndefined();
    expect(decodeIdpHealth(undefined).size).toBe(0);
  });

  it('stays bounded: long messages are cut, and IdPs beyond the size limit are left out', () => {
    const long = { ...failing, message: 'x'.repeat(10_000) };
    expect(decodeIdpHealth(encodeIdpHealth([long])).get(failing.id)?.message).toHaveLength(512);

    const many = Array.from({ length: 100 }, (_, i) => ({
      ...long,
      id: `platform/idp-${String(i).padStart(3, '0')}`,
    }));
    const text = encodeIdpHealth(many, 4096) as string;
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const decoded = decodeIdpHealth(text);
    expect(decoded.size).toBeGreaterThan(0);
    expect(decoded.size).toBeLessThan(100);
    // The first ones by id are kept, so every replica leaves out the same IdPs.
    expect([...decoded.keys()][0]).toBe('platform/idp-000');
  });

  it('ignores what it cannot trust: another format, wrong types, times that are not RFC 3339', () => {
    expect(decodeIdpHealth('not json').size).toBe(0);
    expect(decodeIdpHealth('[1,2]').size).toBe(0);
    const decoded = decodeIdpHealth(
      JSON.stringify({
        'a/ok': {
          issuer: 'https://a',
          healthy: true,
          keys: 1,
          message: '',
          lastCheckTime: 'yesterday',
        },
        'a/no-issuer': { healthy: true, keys: 1, message: '' },
        'a/bad-keys': { issuer: 'https://a', healthy: true, keys: -1, message: '' },
        'a/bad-healthy': { issuer: 'https://a', healthy: 'yes', keys: 1, message: '' },
      }),
    );
    expect([...decoded.keys()]).toEqual(['a/ok']);
    expect(decoded.get('a/ok')?.lastCheckTime).toBeUndefined();
  });
});
