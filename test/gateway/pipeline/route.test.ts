import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/src/errors.ts';
import { hasDotSegment, parseRequestTarget } from '../../../gateway/src/pipeline/request-target.ts';
import { routeRequest } from '../../../gateway/src/pipeline/route.ts';
import { loadSnapshot } from '../../../gateway/src/snapshot/loaded.ts';
import { apiFixture, snapshotFixture } from '../../support/snapshot-fixtures.ts';

const loaded = loadSnapshot(
  snapshotFixture({
    apis: [
      apiFixture({ name: 'design', basePath: '/design-api/v1' }),
      apiFixture({ name: 'design-admin', basePath: '/design-api/v1/admin' }),
    ],
  }),
);

function routeOf(target: string) {
  try {
    return routeRequest(parseRequestTarget(target).path, loaded);
  } catch (error) {
    if (error instanceof GatewayError) return error.code;
    throw error;
  }
}

describe('routeRequest', () => {
  it('routes reserved endpoints before any Api', () => {
    expect(routeOf('/.well-known/jwks')).toEqual({ kind: 'jwks' });
    expect(routeOf('/.well-known/oauth-authorization-server/design-api/v1')).toMatchObject({
      kind: 'authorization-server-metadata',
      api: { id: 'platform/design' },
    });
    expect(routeOf('/design-api/v1/oauth2/v2/token?x=1')).toMatchObject({
      kind: 'token',
      api: { id: 'platform/design' },
    });
    expect(routeOf('/design-api/v1/oauth2/v2/authorize')).toMatchObject({ kind: 'authorize' });
  });

  it('picks the longest basePath, segment-wise', () => {
    expect(routeOf('/design-api/v1/admin/x')).toMatchObject({
      api: { id: 'platform/design-admin' },
      rest: '/x',
    });
    expect(routeOf('/design-api/v1/administrators')).toMatchObject({
      api: { id: 'platform/design' },
      rest: '/administrators',
    });
  });

  it('answers 404 for metadata of an unknown issuer and for paths outside every basePath', () => {
    expect(routeOf('/.well-known/oauth-authorization-server/design-api')).toBe('not_found');
    expect(routeOf('/.well-known/oauth-authorization-server/design-api/v1/x')).toBe('not_found');
    expect(routeOf('/design-api')).toBe('not_found');
    expect(routeOf('/design-api%2Fv1/designs')).toBe('not_found');
  });

  it('refuses dot-segments, plain or encoded, wherever they are', () => {
    for (const target of [
      '/design-api/v1/../v1/admin/x',
      '/design-api/v1/admin/..',
      '/design-api/v1/./designs',
      '/design-api/v1/%2e%2e/v2',
      '/design-api/v1/%2E./v2',
      '/other/../design-api/v1/designs',
    ]) {
      expect(routeOf(target), target).toBe('not_found');
    }
    expect(hasDotSegment('/a/..b/c.d/...')).toBe(false);
  });

  it('answers 404 for a request target that is not origin-form', () => {
    expect(routeOf('http://example.com/design-api/v1/x')).toBe('not_found');
    expect(routeOf('*')).toBe('not_found');
  });
});
