/**
 * Signing keys of an environment, as the gateway receives them (standalone: the state dir;
 * Kubernetes: the environment's signing-key Secret, written by the operator).
 *
 * Lifecycle: `next` keys are published in the JWKS before any token is signed with them;
 * `active` keys sign (one per algorithm); `retired` keys stay published until `retireAfter`,
 * when every token they signed has expired.
 */

import type { JWK } from 'jose';

export type SigningAlgorithm = 'ES256' | 'RS256';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  state: 'next' | 'active' | 'retired';
  /** Private JWK (with `d`): never published, never logged. */
  privateJwk: JWK;
  /** RFC 3339: when a retired key leaves the JWKS. */
  retireAfter?: string;
  /** RFC 3339: when the key was generated (bookkeeping of the operator's rotation). */
  createdAt?: string;
  /**
   * RFC 3339: for a `next` key, when it may start signing (it is published before that); for an
   * `active` key, when it started signing. The operator rotates from it; gateways ignore it.
   */
  activateAfter?: string;
}

export interface SigningKeySet {
  keys: SigningKey[];
}
