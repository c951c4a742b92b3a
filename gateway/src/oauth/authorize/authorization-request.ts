/**
 * The checks of an authorization request (`GET {basePath}/oauth2/v2/authorize`), pure, in the
 * order RFC 6749 §4.1.2.1 requires: first the two parameters that decide whether the client may
 * be redirected to at all, `client_id` and `redirect_uri`, whose failures are shown to the user
 * and never redirected (an open redirector otherwise); then everything else, whose failures go
 * back to the client's redirect URI as `error` + `state` + `iss`.
 *
 * Decisions:
 * - `redirect_uri` is required and compared as an exact string with the registered ones (no
 *   normalisation of case, trailing slash, port or query: RFC 9700 §2.1);
 * - PKCE `S256` is required of every client, confidential ones too (RFC 9700 §2.1.1); `plain`
 *   and a missing method are refused;
 * - `state` is optional (PKCE already stops CSRF) and returned unchanged; at most 1024 chars;
 * - a repeated parameter is `invalid_request` (§3.1);
 * - scopes are requested ∩ granted ∩ declared; absent: all granted; an empty result of a
 *   requested scope is `invalid_scope`.
 */

import type { GatewayErrorCode } from '../../errors.ts';
import { GatewayError } from '../../errors.ts';
import type { LoadedSnapshot } from '../../snapshot/loaded.ts';
import type { SnapshotApi, SnapshotCredential } from '../../snapshot/schema.ts';
import { grantedScopes } from '../token-endpoint.ts';
import { isS256Challenge } from './pkce.ts';

export const MAX_STATE_LENGTH = 1024;

export interface ValidAuthorizationRequest {
  credential: SnapshotCredential;
  redirectUri: string;
  state?: string;
  codeChallenge: string;
  scopes: string[];
}

export type AuthorizationRequestCheck =
  | { kind: 'valid'; request: ValidAuthorizationRequest }
  /** The client or its redirect URI cannot be trusted: tell the user, redirect nowhere. */
  | { kind: 'show'; error: GatewayErrorCode; description: string }
  /** A trusted redirect URI: the client gets the error. */
  | {
      kind: 'redirect';
      redirectUri: string;
      state?: string;
      error: GatewayErrorCode;
      description: string;
    };

export function checkAuthorizationRequest(
  query: URLSearchParams,
  api: SnapshotApi,
  loaded: LoadedSnapshot,
): AuthorizationRequestCheck {
  const show = (error: GatewayErrorCode, description: string): AuthorizationRequestCheck => ({
    kind: 'show',
    error,
    description,
  });

  const clientIds = query.getAll('client_id');
  if (clientIds.length > 1) return show('invalid_request', 'The parameter client_id is repeated.');
  const clientId = clientIds[0];
  if (!clientId) return show('invalid_request', 'client_id is required.');
  const credential = loaded.credentialsByClientId.get(clientId);
  if (!credential) return show('invalid_client', 'No client has this client_id.');
  const registration = credential.authorizationCode;
  if (!registration) {
    return show(
      'unauthorized_client',
      'This client is not registered for the authorization code flow (its Subscription has no credentials.authorizationCode).',
    );
  }
  if (credential.suspended) return show('unauthorized_client', 'This client is suspended.');
  const grant = loaded.grantOf(credential, api.id);
  if (!grant) return show('unauthorized_client', 'This client is not subscribed to this API.');

  const redirectUris = query.getAll('redirect_uri');
  if (redirectUris.length > 1) {
    return show('invalid_request', 'The parameter redirect_uri is repeated.');
  }
  const redirectUri = redirectUris[0];
  if (!redirectUri) return show('invalid_request', 'redirect_uri is required.');
  if (!registration.redirectUris.includes(redirectUri)) {
    return show(
      'invalid_request',
      'redirect_uri is not one of the redirect URIs registered for this client (they must match exactly).',
    );
  }

  // From here on the redirect URI is trusted: errors go back to the client.
  const states = query.getAll('state');
  const state = states.length === 1 && states[0] !== '' ? states[0] : undefined;
  const redirect = (error: GatewayErrorCode, description: string): AuthorizationRequestCheck => ({
    kind: 'redirect',
    redirectUri,
    ...(state === undefined ? {} : { state }),
    error,
    description,
  });
  if (states.length > 1) {
    return {
      kind: 'redirect',
      redirectUri,
      error: 'invalid_request',
      description: 'The parameter state is repeated.',
    };
  }
  if (state !== undefined && state.length > MAX_STATE_LENGTH) {
    return {
      kind: 'redirect',
      redirectUri,
      error: 'invalid_request',
      description: `state must be at most ${MAX_STATE_LENGTH} characters.`,
    };
  }
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (seen.has(name)) return redirect('invalid_request', 'A parameter is repeated.');
    seen.add(name);
  }

  const responseType = query.get('response_type');
  if (!responseType) return redirect('invalid_request', 'response_type is required.');
  if (responseType !== 'code') {
    return redirect('unsupported_response_type', 'Only response_type=code is supported.');
  }
  const responseMode = query.get('response_mode');
  if (responseMode !== null && responseMode !== 'query') {
    return redirect('invalid_request', 'Only response_mode=query is supported.');
  }
  const challenge = query.get('code_challenge');
  const method = query.get('code_challenge_method');
  if (!challenge) return redirect('invalid_request', 'code_challenge is required (PKCE).');
  if (method !== 'S256') {
    return redirect(
      'invalid_request',
      'code_challenge_method must be S256 (plain is not accepted).',
    );
  }
  if (!isS256Challenge(challenge)) {
    return redirect('invalid_request', 'code_challenge is not a valid S256 challenge.');
  }

  let scopes: string[];
  try {
    scopes = grantedScopes(grant.scopes, api.declaredScopes, query.get('scope') ?? undefined);
  } catch (error) {
    if (error instanceof GatewayError) return redirect(error.code, error.message);
    throw error;
  }
  return {
    kind: 'valid',
    request: {
      credential,
      redirectUri,
      ...(state === undefined ? {} : { state }),
      codeChallenge: challenge,
      scopes,
    },
  };
}

/**
 * The redirect URI with the response parameters added to its query (RFC 6749 §4.1.2: keeping
 * any query component it has) and `iss` (RFC 9207).
 */
export function redirectWith(
  redirectUri: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return url.href;
}
