/**
 * Why a backend request failed, mapped from the error's `code` (undici's `UND_ERR_*`, Node's
 * system errors), never from its message text:
 * - the backend's timeout (`backend.timeoutSeconds`) elapsed before its response headers, or
 *   its body stalled as long: 504 `gateway_timeout`;
 * - anything else (refused, reset, DNS, connect timeout, a malformed response): 502
 *   `bad_gateway`. A connect timeout means the backend is unreachable, which SPEC answers with
 *   502 (Envoy answers 503, Kong 504: we keep 504 for the backend's own slowness).
 *
 * The `code` also labels `apiway_upstream_errors_total`: a closed set, other codes become `other`.
 */

import { GatewayError } from '../errors.ts';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const KNOWN_CODES = new Set([
  ...TIMEOUT_CODES,
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

export interface UpstreamFailure {
  error: GatewayError;
  /** Bounded label for metrics. */
  code: string;
}

export function upstreamFailure(cause: unknown): UpstreamFailure {
  const code = errorCode(cause);
  const label =
    code === undefined
      ? 'other'
      : code.startsWith('HPE_')
        ? 'invalid_response'
        : KNOWN_CODES.has(code)
          ? code
          : 'other';
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { code: label, error: timeout(cause) };
  return {
    code: label,
    error: new GatewayError('bad_gateway', 'The backend could not be reached.', { cause }),
  };
}

export function timeout(cause?: unknown): GatewayError {
  return new GatewayError('gateway_timeout', 'The backend did not answer in time.', { cause });
}

/** `code` of an error, or of the first error of an AggregateError (Happy Eyeballs connect attempts). */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0]);
  return errorCode((error as { cause?: unknown }).cause);
}
