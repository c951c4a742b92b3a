/**
 * RFC 8414 authorization server metadata of one Api, served at
 * `/.well-known/oauth-authorization-server{basePath}` (RFC 8414 §3: the well-known segment goes
 * between the host and the issuer's path).
 */

import type { SnapshotApi } from '../snapshot/schema.ts';
import { AUTHORIZATION_PATHS } from './authorize/services.ts';
import { apiIssuer, jwksUri } from './issuer.ts';
import { TOKEN_ENDPOINT_PATH } from './token-endpoint.ts';

export const AUTHORIZATION_ENDPOINT_PATH = AUTHORIZATION_PATHS.authorize;
export const METADATA_PATH_PREFIX = '/.well-known/oauth-authorization-server';

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  scopes_supported: string[];
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  code_challenge_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
}

export function authorizationServerMetadata(
  api: SnapshotApi,
  publicUrl: string,
): AuthorizationServerMetadata {
  const issuer = apiIssuer(api, publicUrl);
  return {
    issuer,
    authorization_endpoint: `${issuer}${AUTHORIZATION_ENDPOINT_PATH}`,
    token_endpoint: `${issuer}${TOKEN_ENDPOINT_PATH}`,
    jwks_uri: jwksUri(publicUrl),
    scopes_supported: [...api.declaredScopes],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'client_credentials'],
    // `none`: public clients of the authorization code flow (PKCE instead of a secret).
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  };
}
