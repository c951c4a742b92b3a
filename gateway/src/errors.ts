/**
 * Every error the gateway answers with, in one closed union of codes. Each knows its HTTP
 * status, its OAuth / RFC 6750 error code and whether its message may be shown to the client
 * (modelled on node-oidc-provider's errors). Anything that is not a GatewayError becomes a
 * generic `server_error` 500 whose details only reach the log.
 */

export type GatewayErrorCode =
  // RFC 6749 §5.2 (token endpoint)
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  // RFC 6749 §4.1.2.1 (authorization endpoint)
  | 'access_denied'
  | 'unsupported_response_type'
  // RFC 6750 §3.1 (resource requests)
  | 'invalid_token'
  | 'insufficient_scope'
  // Routing, limits and the upstream
  | 'not_found'
  | 'method_not_allowed'
  | 'rate_limited'
  | 'payload_too_large'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'service_unavailable'
  | 'server_error';

const STATUS: Record<GatewayErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  unsupported_response_type: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  rate_limited: 429,
  payload_too_large: 413,
  bad_gateway: 502,
  gateway_timeout: 504,
  service_unavailable: 503,
  server_error: 500,
};

export interface GatewayErrorOptions {
  /** Extra response headers (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** For `insufficient_scope`: the scopes that would satisfy the operation (RFC 6750 `scope`). */
  scope?: string;
  /** Logged, never sent. */
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly scope: string | undefined;

  /** `description` is sent to the client: it must never contain a secret, key or token. */
  constructor(code: GatewayErrorCode, description: string, options: GatewayErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = STATUS[code];
    this.headers = { ...options.headers };
    this.scope = options.scope;
  }
}

/** Anything thrown that is not a GatewayError is a bug or an outage: its details stay in the log. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('server_error', 'The gateway failed to process the request.', {
    cause: error,
  });
}

/** RFC 6750 §3: the `WWW-Authenticate` challenge for a resource request that failed authentication or scope. */
export function bearerChallenge(error: GatewayError, realm?: string): string | undefined {
  if (error.code !== 'invalid_token' && error.code !== 'insufficient_scope') return undefined;
  const params: string[] = [];
  if (realm) params.push(`realm="${quote(realm)}"`);
  params.push(`error="${error.code}"`);
  params.push(`error_description="${quote(error.message)}"`);
  if (error.scope) params.push(`scope="${quote(error.scope)}"`);
  return `Bearer ${params.join(', ')}`;
}

/** The JSON body of an error response: RFC 6749 §5.2 shape for every error, so clients parse one format. */
export function errorBody(error: GatewayError): {
  error: string;
  error_description: string;
  scope?: string;
} {
  return error.scope
    ? { error: error.code, error_description: error.message, scope: error.scope }
    : { error: error.code, error_description: error.message };
}

function quote(value: string): string {
  return value.replace(/["\\]/g, '\\$&');
}
