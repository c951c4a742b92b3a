/**
 * The gateway as an OpenID Connect client of an IdpAssociation's `login`, through openid-client
 * (an OpenID-certified relying party): the authorization code flow with PKCE (S256), a state
 * and a nonce of its own, the ID token verified by openid-client (signature from the IdP's
 * JWKS, `iss`, `aud` = the login client id, `nonce`, `exp`), and RFC 9207's `iss` checked when
 * the IdP announces it.
 *
 * The user's identity is the ID token's `sub`. Nothing else of the IdP's tokens is kept: they
 * are not forwarded, stored or logged.
 */

import * as oidc from 'openid-client';
import type { IdpMetadata } from './discovery.ts';
import { isLoopbackHost } from './discovery.ts';

/** What the callback needs to finish a sign-in it started: kept in the authorization transaction. */
export interface LoginChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface LoginClient {
  /** The IdP URL to send the browser to, and the checks to keep for the callback. */
  start(callbackUrl: string, state: string): Promise<{ url: string; checks: LoginChecks }>;
  /**
   * Completes the sign-in from the callback request's full URL (callback URL + query): checks the
   * response against `checks`, redeems the code at the IdP, verifies the ID token. Throws
   * openid-client's errors (`AuthorizationResponseError` when the IdP answered with an error).
   */
  finish(callbackUrlWithQuery: string, checks: LoginChecks): Promise<{ subject: string }>;
}

export interface LoginClientOptions {
  clientId: string;
  /** Absent: the gateway is a public client at the IdP (PKCE only). */
  clientSecret?: string;
  fetch: typeof fetch;
}

export function createLoginClient(metadata: IdpMetadata, options: LoginClientOptions): LoginClient {
  const config = new oidc.Configuration(
    metadata.document as oidc.ServerMetadata,
    options.clientId,
    options.clientSecret === undefined ? undefined : { client_secret: options.clientSecret },
    clientAuthentication(metadata, options.clientSecret),
  );
  config[oidc.customFetch] = options.fetch as oidc.CustomFetch;
  // discovery.ts already refused http anywhere but loopback.
  if (isLoopbackHost(new URL(metadata.issuer).hostname)) oidc.allowInsecureRequests(config);

  return {
    async start(callbackUrl, state) {
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: callbackUrl,
        scope: 'openid',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, checks: { state, nonce, codeVerifier } };
    },
    async finish(callbackUrlWithQuery, checks) {
      const tokens = await oidc.authorizationCodeGrant(config, new URL(callbackUrlWithQuery), {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: true,
      });
      const subject = tokens.claims()?.sub;
      if (typeof subject !== 'string' || subject === '') {
        throw new Error('the ID token names no subject');
      }
      return { subject };
    },
  };
}

/**
 * A confidential client uses HTTP Basic when the IdP supports it (the default of RFC 8414 when
 * it says nothing), the body otherwise; a public one sends only its client_id.
 */
function clientAuthentication(metadata: IdpMetadata, secret: string | undefined): oidc.ClientAuth {
  if (secret === undefined) return oidc.None();
  const methods = metadata.document.token_endpoint_auth_methods_supported;
  if (Array.isArray(methods) && !methods.includes('client_secret_basic')) {
    return oidc.ClientSecretPost(secret);
  }
  return oidc.ClientSecretBasic(secret);
}
