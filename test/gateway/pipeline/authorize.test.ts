import { describe, expect, it } from 'vitest';
import { bearerChallenge, GatewayError } from '../../../gateway/src/errors.ts';
import type { Authentication, Consumer } from '../../../gateway/src/pipeline/authenticate.ts';
import { authorize } from '../../../gateway/src/pipeline/authorize.ts';
import {
  apiFixture,
  credentialFixture,
  operation,
  type SecurityShorthand,
} from '../../support/snapshot-fixtures.ts';

const api = apiFixture({ name: 'design', basePath: '/design' });
const credential = credentialFixture({ name: 'acme', grants: { [api.id]: { scopes: ['read'] } } });

function consumer(scopes: string[]): Consumer {
  const grant = credential.grants[0]!;
  return { credential, grant, clientId: credential.clientId, subject: credential.clientId, scopes };
}

const nobody: Authentication = { apiKeys: [] };
const tokenWith = (...scopes: string[]): Authentication => {
  const c = consumer(scopes);
  return { bearer: c, apiKeys: [], consumer: c };
};
const headerKey = (...scopes: string[]): Authentication => {
  const c = consumer(scopes);
  return { apiKeys: [{ location: { in: 'header', name: 'x-api-key' }, consumer: c }], consumer: c };
};
const queryKey = (): Authentication => {
  const c = consumer([]);
  return { apiKeys: [{ location: { in: 'query', name: 'api_key' }, consumer: c }], consumer: c };
};

function outcome(security: SecurityShorthand, authentication: Authentication): string {
  try {
    const who = authorize(operation(security), api, authentication);
    return who ? 'allowed' : 'anonymous';
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return error.scope ? `${error.code}(${error.scope})` : error.code;
  }
}

describe('authorize', () => {
  it('treats [] as public and returns the consumer when one authenticated', () => {
    expect(outcome([], nobody)).toBe('anonymous');
    expect(outcome([], tokenWith())).toBe('allowed');
  });

  it('makes authentication optional with an empty alternative', () => {
    expect(outcome([[], [['oauth', 'read']]], nobody)).toBe('anonymous');
    expect(outcome([[], [['oauth', 'read']]], tokenWith())).toBe('allowed');
  });

  it('accepts any one alternative (OR)', () => {
    const either: SecurityShorthand = [[['oauth', 'write']], [['key']]];
    expect(outcome(either, tokenWith('write'))).toBe('allowed');
    expect(outcome(either, headerKey())).toBe('allowed');
    expect(outcome(either, nobody)).toBe('invalid_token');
  });

  it('requires every requirement of an alternative (AND)', () => {
    const both: SecurityShorthand = [[['oauth', 'read'], ['key']]];
    expect(outcome(both, tokenWith('read'))).toBe('invalid_token');
    expect(outcome(both, headerKey('read'))).toBe('invalid_token');
    const c = consumer(['read']);
    const together: Authentication = {
      bearer: c,
      apiKeys: [{ location: { in: 'header', name: 'x-api-key' }, consumer: c }],
      consumer: c,
    };
    expect(outcome(both, together)).toBe('allowed');
  });

  it('matches scopes exactly and case-sensitively, 403 naming what the alternative needs', () => {
    expect(outcome([[['oauth', 'read', 'write']]], tokenWith('read'))).toBe(
      'insufficient_scope(read write)',
    );
    expect(outcome([[['oauth', 'Read']]], tokenWith('read'))).toBe('insufficient_scope(Read)');
    expect(outcome([[['oauth', 'read']]], tokenWith('read', 'write'))).toBe('allowed');
  });

  it("checks an API key's grant scopes like a token's", () => {
    expect(outcome([[['key', 'admin']]], headerKey('read'))).toBe('insufficient_scope(admin)');
    expect(outcome([[['key', 'read']]], headerKey('read'))).toBe('allowed');
  });

  it('requires the key at the location of the scheme', () => {
    expect(outcome([[['queryKey']]], headerKey())).toBe('invalid_token');
    expect(outcome([[['queryKey']]], queryKey())).toBe('allowed');
    expect(outcome([[['key']]], queryKey())).toBe('invalid_token');
  });

  it('answers 401, not 403, when the only alternative with the right credential kind is absent', () => {
    // A token lacking a scope for alternative 1, but alternative 2 wants a key it did not send:
    // the scope failure is the useful answer.
    expect(outcome([[['oauth', 'admin']], [['key']]], tokenWith('read'))).toBe(
      'insufficient_scope(admin)',
    );
    expect(outcome([[['oauth', 'admin']]], headerKey('admin'))).toBe('invalid_token');
  });

  it('never satisfies unsupported, openIdConnect (not yet) or unknown schemes', () => {
    expect(outcome([[['basic']]], tokenWith('read'))).toBe('invalid_token');
    expect(outcome([[['no-such-scheme']]], tokenWith('read'))).toBe('invalid_token');
    const oidc = apiFixture({
      name: 'oidc',
      basePath: '/oidc',
      securitySchemes: {
        idp: {
          type: 'openIdConnect',
          openIdConnectUrl: 'https://idp.example/.well-known/openid-configuration',
        },
      },
    });
    expect(() => authorize(operation([[['idp']]]), oidc, tokenWith())).toThrow(GatewayError);
  });

  it('satisfies the synthetic secure-by-default schemes with any valid credential of the Api', () => {
    const defaulted: SecurityShorthand = [[['apiway:bearer']], [['apiway:apiKey']]];
    expect(outcome(defaulted, tokenWith())).toBe('allowed');
    expect(outcome(defaulted, headerKey())).toBe('allowed');
    expect(outcome(defaulted, nobody)).toBe('invalid_token');
  });

  it('challenges with error="invalid_token" when nothing was presented (SPEC), and names the scope on 403', () => {
    let error: GatewayError | undefined;
    try {
      authorize(operation([[['oauth', 'read']]]), api, nobody);
    } catch (e) {
      error = e as GatewayError;
    }
    expect(bearerChallenge(error!)).toMatch(/^Bearer error="invalid_token"/);
    try {
      authorize(operation([[['oauth', 'write']]]), api, tokenWith('read'));
    } catch (e) {
      error = e as GatewayError;
    }
    expect(error?.status).toBe(403);
    expect(bearerChallenge(error!)).toContain('scope="write"');
  });
});
