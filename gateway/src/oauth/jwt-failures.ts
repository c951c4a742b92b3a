/**
 * Fixed, client-safe descriptions of why a JWT was refused, shared by the verifiers of the
 * gateway's own tokens (access-token.ts) and of external IdPs' tokens (idp/verify-idp-token.ts).
 * jose's messages are not a stable contract, and jose's errors are never kept as the cause:
 * some carry the token's claims, which have no place in a log.
 */

import { errors } from 'jose';
import { GatewayError } from '../errors.ts';

export function invalidToken(description: string): GatewayError {
  return new GatewayError('invalid_token', description);
}

/**
 * The `invalid_token` error for a jose verification failure every verifier shares, or
 * undefined for one the caller describes itself (a malformed token, an unreachable IdP).
 * `wrongIssuer` is the description of an `iss` mismatch, which differs per verifier.
 */
export function describeJwtFailure(error: unknown, wrongIssuer: string): GatewayError | undefined {
  if (error instanceof GatewayError) return error;
  if (error instanceof errors.JWTExpired) return invalidToken('The access token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalidToken('The access token lacks a required claim.');
    switch (error.claim) {
      case 'iss':
        return invalidToken(wrongIssuer);
      case 'aud':
        return invalidToken('The access token is not meant for this API.');
      case 'nbf':
      case 'iat':
        return invalidToken('The access token is not valid yet.');
      case 'typ':
        return invalidToken('The token is not an at+jwt access token.');
      default:
        return invalidToken('The access token has invalid claims.');
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalidToken('The access token is signed with an algorithm this API does not accept.');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return invalidToken('The access token was signed by an unknown key.');
  }
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalidToken('The access token names no single signing key of its issuer.');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken('The access token signature is invalid.');
  }
  return undefined;
}
