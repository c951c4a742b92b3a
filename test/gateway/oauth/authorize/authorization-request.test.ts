import { describe, expect, it } from 'vitest';
import {
  checkAuthorizationRequest,
  redirectWith,
} from '../../../../gateway/src/oauth/authorize/authorization-request.ts';
import { loadSnapshot } from '../../../../gateway/src/snapshot/loaded.ts';
import {
  apiFixture,
  credentialFixture,
  snapshotFixture,
} from '../../../support/snapshot-fixtures.ts';

const DESIGN = apiFixture({ name: 'design', basePath: '/design-api/v1' });
const OTHER = apiFixture({ name: 'other', basePath: '/other-api/v1' });
const REDIRECT = 'https://app.acme.example/callback';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

const spa = {
  ...credentialFixture({
    name: 'spa',
    grants: { 'platform/design': { scopes: ['read', 'write'] } },
  }),
  authorizationCode: {
    redirectUris: [REDIRECT, 'https://app.acme.example/cb?tenant=1'],
    public: true,
  },
};
const machine = credentialFixture({
  name: 'machine',
  clientSecret: 'machine-secret-0123456789',
  grants: { 'platform/design': { scopes: ['read'] } },
});
const suspended = {
  ...spa,
  id: 'acme/suspended',
  name: 'suspended',
  clientId: 'client-suspended',
  suspended: true,
};
const loaded = loadSnapshot(
  snapshotFixture({ apis: [DESIGN, OTHER], credentials: [spa, machine, suspended] }),
);

function check(params: Record<string, string> | [string, string][], api = DESIGN) {
  return checkAuthorizationRequest(new URLSearchParams(params), api, loaded);
}

function valid(overrides: Record<string, string | undefined> = {}): [string, string][] {
  const base: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: spa.clientId,
    redirect_uri: REDIRECT,
    state: 'xyz',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...overrides,
  };
  return Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined);
}

describe('checkAuthorizationRequest', () => {
  it('accepts a complete request; scopes default to every granted one', () => {
    expect(check(valid())).toEqual({
      kind: 'valid',
      request: {
        credential: spa,
        redirectUri: REDIRECT,
        state: 'xyz',
        codeChallenge: CHALLENGE,
        scopes: ['read', 'write'],
      },
    });
    expect(check(valid({ scope: 'write admin' }))).toMatchObject({
      kind: 'valid',
      request: { scopes: ['write'] },
    });
    expect(check(valid({ redirect_uri: 'https://app.acme.example/cb?tenant=1' }))).toMatchObject({
      kind: 'valid',
    });
  });

  it('shows, never redirects, errors about client_id', () => {
    expect(check(valid({ client_id: undefined }))).toMatchObject({
      kind: 'show',
      error: 'invalid_request',
    });
    expect(check(valid({ client_id: 'nobody' }))).toMatchObject({
      kind: 'show',
      error: 'invalid_client',
    });
    // A client without the authorization code flow, a suspended one, one not subscribed here.
    expect(check(valid({ client_id: machine.clientId }))).toMatchObject({
      kind: 'show',
      error: 'unauthorized_client',
    });
    expect(check(valid({ client_id: suspended.clientId }))).toMatchObject({
      kind: 'show',
      error: 'unauthorized_client',
    });
    expect(check(valid(), OTHER)).toMatchObject({ kind: 'show', error: 'unauthorized_client' });
    expect(check([...valid(), ['client_id', spa.clientId]])).toMatchObject({
      kind: 'show',
      error: 'invalid_request',
    });
  });

  it('shows, never redirects, a redirect_uri that is missing or not exactly registered', () => {
    const nearMisses = [
      undefined,
      '',
      'https://app.acme.example/callback/', // trailing slash
      'https://app.acme.example:8443/callback', // another port
      'https://app.acme.example:443/callback', // the default port written out
      'https://evil.example/callback', // another host
      'https://app.acme.example.evil.example/callback',
      'https://APP.acme.example/callback', // case
      'https://app.acme.example/callback2', // another path
      'https://app.acme.example/Callback',
      'https://app.acme.example/callback?x=1', // an added query
      'https://app.acme.example/callback#frag',
      'http://app.acme.example/callback', // another scheme
      'https://app.acme.example/cb', // a registered one without its query
      'https://app.acme.example/cb?tenant=2',
      'https://app.acme.example/callback/../callback',
      'https://app.acme.example/%63allback', // percent-encoded
    ];
    for (const uri of nearMisses) {
      expect(check(valid({ redirect_uri: uri })), String(uri)).toMatchObject({ kind: 'show' });
    }
    expect(check([...valid(), ['redirect_uri', REDIRECT]])).toMatchObject({ kind: 'show' });
  });

  it('redirects every other error to the client with its state', () => {
    const redirected = (overrides: Record<string, string | undefined>, error: string) =>
      expect(check(valid(overrides))).toMatchObject({
        kind: 'redirect',
        redirectUri: REDIRECT,
        state: 'xyz',
        error,
      });
    redirected({ response_type: undefined }, 'invalid_request');
    redirected({ response_type: 'token' }, 'unsupported_response_type');
    redirected({ response_type: 'code id_token' }, 'unsupported_response_type');
    redirected({ code_challenge: undefined }, 'invalid_request');
    redirected({ code_challenge_method: undefined }, 'invalid_request'); // means plain (RFC 7636)
    redirected({ code_challenge_method: 'plain' }, 'invalid_request');
    redirected({ code_challenge_method: 's256' }, 'invalid_request');
    redirected({ code_challenge: 'too-short' }, 'invalid_request');
    redirected({ response_mode: 'fragment' }, 'invalid_request');
    redirected({ scope: 'admin' }, 'invalid_scope');
    expect(check([...valid(), ['scope', 'read'], ['scope', 'write']])).toMatchObject({
      kind: 'redirect',
      error: 'invalid_request',
    });
  });

  it('returns no state when state is repeated or too long', () => {
    const repeated = check([...valid(), ['state', 'other']]);
    expect(repeated).toMatchObject({ kind: 'redirect', error: 'invalid_request' });
    expect(repeated).not.toHaveProperty('state');
    const long = check(valid({ state: 'x'.repeat(1025) }));
    expect(long).toMatchObject({ kind: 'redirect', error: 'invalid_request' });
    expect(long).not.toHaveProperty('state');
    expect(check(valid({ state: undefined }))).toMatchObject({ kind: 'valid' });
  });
});

describe('redirectWith', () => {
  it('adds the response parameters to the redirect URI, keeping its own query', () => {
    expect(
      redirectWith('https://app.acme.example/cb?tenant=1', {
        code: 'c d',
        state: undefined,
        iss: 'https://gw/x',
      }),
    ).toBe('https://app.acme.example/cb?tenant=1&code=c+d&iss=https%3A%2F%2Fgw%2Fx');
  });
});
