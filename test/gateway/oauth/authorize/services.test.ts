import { describe, expect, it } from 'vitest';
import { loginIdpFor } from '../../../../gateway/src/oauth/authorize/services.ts';
import type { SnapshotIdp } from '../../../../gateway/src/snapshot/schema.ts';
import { apiFixture } from '../../../support/snapshot-fixtures.ts';

function idp(id: string, login: boolean): SnapshotIdp {
  return {
    id,
    issuer: `https://${id.replace('/', '.')}.example`,
    audiences: ['x'],
    apis: [],
    scopeClaim: 'scope',
    ...(login ? { login: { clientId: 'gw' } } : {}),
  };
}

describe('loginIdpFor', () => {
  it('prefers a login IdP associated with the Api, else any of the environment, first by id', () => {
    const api = apiFixture({
      name: 'design',
      basePath: '/d',
      idps: ['platform/z-assoc', 'platform/no-login'],
    });
    const idps = [
      idp('platform/a-env', true),
      idp('platform/no-login', false),
      idp('platform/z-assoc', true),
    ];
    expect(loginIdpFor(api, idps)?.id).toBe('platform/z-assoc');
    const unassociated = apiFixture({ name: 'other', basePath: '/o' });
    expect(loginIdpFor(unassociated, [idps[2]!, idps[0]!])?.id).toBe('platform/a-env');
    expect(loginIdpFor(unassociated, [idps[1]!])).toBeUndefined();
  });
});
