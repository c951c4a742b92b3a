import { describe, expect, it } from 'vitest';
import { canonicalJson, snapshotVersion } from '../../../gateway/src/compiler/canonical-json.ts';
import { compileSnapshot } from '../../../gateway/src/compiler/compile-snapshot.ts';
import {
  credentialsFromSecret,
  hashLiveSecrets,
  sha256Hex,
} from '../../../gateway/src/compiler/credentials.ts';
import { parsePeriod } from '../../../gateway/src/compiler/rate-limits.ts';
import { readGoldenCase } from './golden-case.ts';

const CASE = `
# environment: alpha
# now: 2026-01-01T00:00:00Z
apiVersion: apiway.net/v1alpha1
kind: Api
metadata: {name: design-api, namespace: platform}
spec:
  basePath: /design-api/v1
  environments: [alpha]
  backend: {url: 'http://design.platform.svc:8080'}
  openapi: {inline: "openapi: 3.1.0\\ninfo: {title: D, version: '1'}\\npaths: {/x: {get: {}}}\\n"}
---
apiVersion: apiway.net/v1alpha1
kind: Subscription
metadata: {name: acme, namespace: platform}
spec:
  api: {name: design-api}
---
apiVersion: test.apiway.net/v1
kind: IssuedCredentials
metadata: {name: acme, namespace: platform}
clientId: platform.acme.1
clientSecrets: [{value: apw_cs_unit-test-client-secret-00000000000000000}]
apiKeys: [{value: apw_ak_unit-test-api-key-000000000000000000000}]
`;

describe('compileSnapshot', () => {
  it('does not modify its input', async () => {
    const { input } = await readGoldenCase(CASE);
    const before = structuredClone({
      ...input,
      openapi: [...input.openapi],
      issued: [...input.issued],
    });
    compileSnapshot(input);
    expect({ ...input, openapi: [...input.openapi], issued: [...input.issued] }).toEqual(before);
  });

  it('changes version when what gateways enforce changes, and only then', async () => {
    const { input } = await readGoldenCase(CASE);
    const first = compileSnapshot(input).snapshot.version;
    expect(compileSnapshot(input).snapshot.version).toBe(first);
    const suspended = structuredClone(input.subscriptions);
    (suspended[0] as (typeof suspended)[number]).spec.suspended = true;
    expect(compileSnapshot({ ...input, subscriptions: suspended }).snapshot.version).not.toBe(
      first,
    );
  });

  it('revokes a suspended or deleted Subscription in the next snapshot', async () => {
    const { input } = await readGoldenCase(CASE);
    const keyHash = sha256Hex('apw_ak_unit-test-api-key-000000000000000000000');
    expect(JSON.stringify(compileSnapshot(input).snapshot)).toContain(keyHash);
    const suspended = structuredClone(input.subscriptions);
    (suspended[0] as (typeof suspended)[number]).spec.suspended = true;
    expect(
      JSON.stringify(compileSnapshot({ ...input, subscriptions: suspended }).snapshot),
    ).not.toContain(keyHash);
    expect(compileSnapshot({ ...input, subscriptions: [] }).snapshot.credentials).toEqual([]);
  });

  it('drops a rotated-out value once its grace period is over', async () => {
    const { input } = await readGoldenCase(CASE);
    const old = 'apw_ak_unit-test-rotated-out-key-0000000000000000';
    const issued = new Map(input.issued);
    const current = issued.get('platform/acme');
    if (!current) throw new Error('case without issued credentials');
    issued.set('platform/acme', {
      ...current,
      apiKeys: [...current.apiKeys, { value: old, expiresAt: '2026-01-01T01:00:00Z' }],
    });
    const during = compileSnapshot({ ...input, issued, now: new Date('2026-01-01T00:59:59Z') });
    expect(JSON.stringify(during.snapshot)).toContain(sha256Hex(old));
    const after = compileSnapshot({ ...input, issued, now: new Date('2026-01-01T01:00:00Z') });
    expect(JSON.stringify(after.snapshot)).not.toContain(sha256Hex(old));
  });
});

describe('snapshot version', () => {
  it('is the sha256 of canonical JSON, independent of key order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: undefined }], a: 'x' })).toBe(
      '{"a":"x","b":[2,{"d":1}]}',
    );
    const snapshot = {
      format: 'apiway.net/snapshot/v1' as const,
      environment: 'alpha',
      apis: [],
      credentials: [],
      idps: [],
      objects: [],
    };
    const reordered = {
      objects: [],
      idps: [],
      credentials: [],
      apis: [],
      environment: 'alpha',
      format: snapshot.format,
    };
    expect(snapshotVersion(snapshot)).toBe(snapshotVersion(reordered));
    expect(snapshotVersion({ ...snapshot, version: 'ignored' })).toBe(snapshotVersion(snapshot));
    expect(snapshotVersion(snapshot)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('parsePeriod', () => {
  it.each([
    ['1s', 1],
    ['10s', 10],
    ['1m', 60],
    ['1h', 3600],
    ['1d', 86_400],
    ['30d', 2_592_000],
  ])('%s is %i seconds', (period, seconds) => {
    expect(parsePeriod(period)).toBe(seconds);
  });

  it.each(['0s', '1w', '1.5m', '60', 's', '-1s', '01s', '1 s', '1S'])('refuses %s', (period) => {
    expect(parsePeriod(period)).toBeUndefined();
  });
});

describe('credentials', () => {
  it('reads a Secret: stringData over data, base64 checked, empty values absent', () => {
    const { values, invalidKeys } = credentialsFromSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'n' },
      data: {
        client_id: Buffer.from('from-data').toString('base64'),
        client_secret: 'not base64!',
        api_key: Buffer.from('key-from-data\n').toString('base64'),
        api_key_secondary: Buffer.from('overridden').toString('base64'),
      },
      stringData: { api_key_secondary: 'from-string-data', client_id: '' },
    });
    expect(values).toEqual({ apiKey: 'key-from-data\n', apiKeySecondary: 'from-string-data' });
    expect(invalidKeys).toEqual(['client_secret']);
  });

  it('hashes only values still valid, without repeats', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(
      hashLiveSecrets(
        [
          { value: 'current' },
          { value: 'current' },
          { value: 'in-grace', expiresAt: '2026-01-01T00:00:01Z' },
          { value: 'expired', expiresAt: '2026-01-01T00:00:00Z' },
          { value: 'unreadable', expiresAt: 'soon' },
          { value: '' },
        ],
        now,
      ),
    ).toEqual([
      { sha256: sha256Hex('current') },
      { sha256: sha256Hex('in-grace'), expiresAt: '2026-01-01T00:00:01Z' },
    ]);
  });
});
