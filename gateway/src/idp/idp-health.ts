/**
 * The health of one trusted IdP as a gateway replica sees it: what the operator writes into the
 * IdpAssociation's `status.discovery` (the field names are the CRD's) and what the
 * `apiway_idp_up` metric says.
 */

export interface IdpHealth {
  /** The IdpAssociation, `namespace/name`. */
  id: string;
  issuer: string;
  /** Discovery succeeded and keys are loaded, and the last attempt at either did not fail. */
  healthy: boolean;
  /** A discovery document was read at least once (the gateway keeps using it through failures). */
  discovered: boolean;
  /** Keys in the cached JWKS. */
  keys: number;
  /** The `jwks_uri` the discovery document named. */
  jwksUri?: string;
  /** RFC 3339: when discovery or a key fetch was last attempted. */
  lastCheckTime?: string;
  /** RFC 3339: when discovery and a key fetch last succeeded together. */
  lastSuccessTime?: string;
  /** Why the last attempt failed; empty when healthy, "not checked yet" before the first. */
  message: string;
}
