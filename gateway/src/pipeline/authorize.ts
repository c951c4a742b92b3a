/**
 * Step 4: does what the request authenticated as (step 3) satisfy the operation's `security`?
 * OpenAPI semantics, as the compiler resolved them:
 * - `security` is a list of alternatives: any one suffices;
 * - an alternative is a list of requirements: all must pass;
 * - `[]` (no alternatives): public; an empty alternative: authentication is optional;
 * - secure by default is already expressed by the compiler with the synthetic `apiway:*`
 *   schemes, so nothing here special-cases it.
 *
 * A requirement is satisfied by:
 * - `oauth2` / `bearer`: a valid token this gateway minted for this Api, or of an IdP
 *   associated with this Api, whose scopes include every scope the requirement names (exact,
 *   case-sensitive);
 * - `apiKey`: a valid key presented at that scheme's location; it carries its grant's scopes,
 *   checked the same way;
 * - `openIdConnect`: a valid token of an IdP associated with this Api whose issuer is the one
 *   of the scheme's `openIdConnectUrl` (`{issuer}/.well-known/openid-configuration`; trailing
 *   `/` of the issuer ignored), scopes checked the same way;
 * - `unsupported` (or a scheme name the Api does not define): never.
 *
 * When no alternative passes: if one failed only for missing scopes (its credentials were all
 * presented), 403 `insufficient_scope` naming every scope that alternative requires (RFC 6750
 * §3.1 `scope`); otherwise 401 `invalid_token` (SPEC: missing credentials are answered with
 * `error="invalid_token"` too).
 */

import { GatewayError } from '../errors.ts';
import { issuerOfDiscoveryUrl } from '../idp/discovery.ts';
import type { SecurityRequirement, SnapshotApi, SnapshotOperation } from '../snapshot/schema.ts';
import type { Authentication, Consumer } from './authenticate.ts';

type RequirementResult = 'satisfied' | 'missing-credential' | 'missing-scope';

/**
 * Returns the consumer the request runs as (undefined: anonymous, allowed because the
 * operation is public or authentication optional). Throws 401 / 403 as described above.
 */
export function authorize(
  operation: SnapshotOperation,
  api: SnapshotApi,
  authentication: Authentication,
): Consumer | undefined {
  if (operation.security.length === 0) return authentication.consumer;
  let insufficient: string[] | undefined;
  for (const alternative of operation.security) {
    const results = alternative.map((requirement) => evaluate(requirement, api, authentication));
    if (results.every((result) => result === 'satisfied')) return authentication.consumer;
    if (!insufficient && results.every((result) => result !== 'missing-credential')) {
      insufficient = [...new Set(alternative.flatMap((requirement) => requirement.scopes))];
    }
  }
  if (insufficient) {
    const scope = insufficient.join(' ');
    throw new GatewayError(
      'insufficient_scope',
      'The access token does not carry the scope this operation requires.',
      {
        scope,
      },
    );
  }
  throw new GatewayError(
    'invalid_token',
    authentication.consumer
      ? 'The credential presented is not accepted by this operation.'
      : 'This operation requires a credential.',
  );
}

function evaluate(
  requirement: SecurityRequirement,
  api: SnapshotApi,
  authentication: Authentication,
): RequirementResult {
  const scheme = api.securitySchemes[requirement.scheme];
  let consumer: Consumer | undefined;
  switch (scheme?.type) {
    case 'oauth2':
    case 'bearer':
      consumer = authentication.bearer ?? authentication.idpBearer?.consumer;
      break;
    case 'openIdConnect': {
      const idp = authentication.idpBearer;
      const issuer = issuerOfDiscoveryUrl(scheme.openIdConnectUrl);
      if (idp && issuer !== undefined && idp.issuer.replace(/\/+$/, '') === issuer) {
        consumer = idp.consumer;
      }
      break;
    }
    case 'apiKey': {
      const name = scheme.in === 'header' ? scheme.name.toLowerCase() : scheme.name;
      consumer = authentication.apiKeys.find(
        (k) => k.location.in === scheme.in && k.location.name === name,
      )?.consumer;
      break;
    }
    default:
      // unsupported, or a name the Api does not define.
      return 'missing-credential';
  }
  if (!consumer) return 'missing-credential';
  return requirement.scopes.every((scope) => consumer.scopes.includes(scope))
    ? 'satisfied'
    : 'missing-scope';
}
