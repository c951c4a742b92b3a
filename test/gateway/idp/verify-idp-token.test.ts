import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/src/errors.ts';
import { scopesOfIdpClaim } from '../../../gateway/src/idp/verify-idp-token.ts';

describe('scopesOfIdpClaim', () => {
  it('reads a space-separated string or an array of strings, without empties or repeats', () => {
    expect(scopesOfIdpClaim('read  write read')).toEqual(['read', 'write']);
    expect(scopesOfIdpClaim(['read', '', 'write', 'read'])).toEqual(['read', 'write']);
    expect(scopesOfIdpClaim(undefined)).toEqual([]);
    expect(scopesOfIdpClaim([])).toEqual([]);
  });

  it('refuses any other shape as a malformed token', () => {
    for (const value of [42, { read: true }, ['read', 1], null, true]) {
      expect(() => scopesOfIdpClaim(value)).toThrow(GatewayError);
    }
  });
});
