import { describe, expect, it } from 'vitest';
import { authorizationServerMetadata } from '../../../gateway/src/oauth/metadata.ts';
import { BILLING, DESIGN } from './fixtures.ts';

describe('authorizationServerMetadata (RFC 8414)', () => {
  it('describes the Api as its own authorization server', () => {
    expect(authorizationServerMetadata(DESIGN, 'https://gw.example.test')).toEqual({
      issuer: 'https://gw.example.test/design-api/v1',
      authorization_endpoint: 'https://gw.example.test/design-api/v1/oauth2/v2/authorize',
      token_endpoint: 'https://gw.example.test/design-api/v1/oauth2/v2/token',
      jwks_uri: 'https://gw.example.test/.well-known/jwks',
      scopes_supported: ['read:design', 'write:design'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
  });

  it('keeps the issuer URL even when the Api names another audience, and ignores a trailing slash', () => {
    const metadata = authorizationServerMetadata(BILLING, 'http://127.0.0.1:8080/');
    expect(metadata.issuer).toBe('http://127.0.0.1:8080/billing-api/v1');
    expect(metadata.jwks_uri).toBe('http://127.0.0.1:8080/.well-known/jwks');
    expect(metadata.scopes_supported).toEqual(['read:billing']);
  });
});
