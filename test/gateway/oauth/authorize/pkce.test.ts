import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  isCodeVerifier,
  isS256Challenge,
  verifierMatches,
} from '../../../../gateway/src/oauth/authorize/pkce.ts';

// A pair made by openid-client, as a client would make it (independent of the code under test).
const VERIFIER = randomPKCECodeVerifier();
let CHALLENGE: string;
beforeAll(async () => {
  CHALLENGE = await calculatePKCECodeChallenge(VERIFIER);
});

describe('PKCE S256', () => {
  it('matches a client-made verifier with its challenge, and nothing else', () => {
    expect(verifierMatches(VERIFIER, CHALLENGE)).toBe(true);
    expect(verifierMatches(`${VERIFIER}x`, CHALLENGE)).toBe(false);
    // `plain` would compare the verifier itself: never accepted.
    expect(verifierMatches(CHALLENGE, CHALLENGE)).toBe(false);
  });

  it('accepts verifiers of 43 to 128 unreserved characters only', () => {
    expect(isCodeVerifier('a'.repeat(43))).toBe(true);
    expect(isCodeVerifier(`${'A'.repeat(124)}-._~`)).toBe(true);
    expect(isCodeVerifier('a'.repeat(42))).toBe(false);
    expect(isCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isCodeVerifier(`${'a'.repeat(43)}+`)).toBe(false);
    expect(isCodeVerifier(`${'a'.repeat(43)}=`)).toBe(false);
  });

  it('recognises S256 challenges: 43 base64url characters', () => {
    expect(isS256Challenge(CHALLENGE)).toBe(true);
    expect(isS256Challenge(`${CHALLENGE}=`)).toBe(false);
    expect(isS256Challenge(CHALLENGE.slice(1))).toBe(false);
    expect(isS256Challenge(`${CHALLENGE.slice(1)}+`)).toBe(false);
  });
});
