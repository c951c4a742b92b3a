/**
 * Where the authorization code flow keeps its state, so that every step may land on any
 * replica: the sign-in in progress (a transaction, ~10 minutes), the codes (~60 s, single use),
 * and the ids of tokens revoked because their code was replayed. Redis when the gateway has one
 * (redis-store.ts, atomic scripts), memory otherwise (memory-store.ts, one replica); both have
 * this interface and the same semantics.
 *
 * Codes are stored under the SHA-256 of their value (a store dump does not hold redeemable
 * codes) and per Api: a code presented at another Api's token endpoint is unknown there and
 * left intact.
 *
 * Replay (RFC 6749 §4.1.2, §10.5): redeeming a code marks it used for as long as the tokens
 * minted from it live; a second redemption is refused and revokes every token recorded for it
 * (`recordToken`). A token whose recording finds the code already replayed is not issued.
 */

import type { LoginChecks } from '../../idp/login-client.ts';

/** A sign-in in progress: from the authorization request to the user's decision on consent. */
export interface AuthorizationTransaction {
  /** Random, 256 bits, base64url: also the `state` sent to the IdP. */
  id: string;
  apiId: string;
  clientId: string;
  redirectUri: string;
  /** The client's `state`, returned unchanged. */
  state?: string;
  /** S256 code challenge of the client. */
  codeChallenge: string;
  /** requested ∩ granted ∩ declared, as shown on the consent page. */
  scopes: string[];
  /** The IdpAssociation the user signs in at. */
  idpId: string;
  /** SHA-256 (hex) of the browser-binding cookie: only the browser that started may continue. */
  browserBinding: string;
  /** Anti-CSRF token of the consent form. */
  csrfToken: string;
  /** The gateway's own state, nonce and PKCE verifier at the IdP. */
  login: LoginChecks;
  /** The signed-in user (IdP `sub`), once back from the IdP. */
  subject?: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** What a code stands for: everything the token request must match. */
export interface AuthorizationCode {
  apiId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  /** The user: the minted token's `sub`. */
  subject: string;
  idpId: string;
  /** Epoch ms (gateway clock): the store's own expiry is only a backstop. */
  expiresAt: number;
}

export type CodeRedemption =
  | { outcome: 'redeemed'; code: AuthorizationCode }
  /** Used before: refused, and every token recorded for it is revoked now. */
  | { outcome: 'replayed' }
  /** Never issued here, expired from the store, or issued for another Api. */
  | { outcome: 'unknown' };

export interface AuthorizationStore {
  saveTransaction(transaction: AuthorizationTransaction, ttlSeconds: number): Promise<void>;
  loadTransaction(id: string): Promise<AuthorizationTransaction | undefined>;
  /** Removes and returns it: at most one caller gets a given transaction. */
  takeTransaction(id: string): Promise<AuthorizationTransaction | undefined>;
  saveCode(codeHash: string, code: AuthorizationCode, ttlSeconds: number): Promise<void>;
  /**
   * Atomic single use. The used mark lasts `usedTtlSeconds` (the lifetime of the tokens it may
   * mint); a replay within it revokes them for `usedTtlSeconds` too.
   */
  redeemCode(apiId: string, codeHash: string, usedTtlSeconds: number): Promise<CodeRedemption>;
  /**
   * Records a token minted from a redeemed code (so a replay revokes it). False when the code
   * was replayed in the meantime: the token must not be issued.
   */
  recordToken(apiId: string, codeHash: string, jti: string, ttlSeconds: number): Promise<boolean>;
  /** Whether a token id was revoked by a code replay. May reject when the store is unreachable. */
  isRevoked(jti: string): Promise<boolean>;
  close(): Promise<void>;
}
