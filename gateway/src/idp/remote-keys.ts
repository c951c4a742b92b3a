/**
 * The signing keys of one IdP, from its `jwks_uri`: jose's `createRemoteJWKSet` (cache, key
 * selection by `kid` and `alg`, one fetch in flight at a time), behind a fetch that bounds how
 * often the IdP is asked.
 *
 * Why two bounds: jose refetches on an unknown `kid` only when its cooldown has passed since the
 * last SUCCESSFUL fetch (30 s), so forged `kid`s cost at most one fetch per cooldown while the
 * IdP answers; but while the IdP fails, jose has no success to count from and would fetch for
 * every such request. The fetch here refuses to call out again within `failureCooldownMs` of a
 * failure, so an outage plus forged tokens is no fetch storm either.
 */

import { createRemoteJWKSet, customFetch, type FetchImplementation, type RemoteJWKSet } from 'jose';

export type JwksFetchResult = 'success' | 'failure' | 'suppressed';

export interface IdpKeysOptions {
  fetch: typeof fetch;
  /** Called once per attempt (bounded label values: for metrics). */
  onFetch?: (result: JwksFetchResult) => void;
  /** Minimum time between a successful fetch and a refetch for an unknown kid. Default 30 s. */
  cooldownMs?: number;
  /** Minimum time between a failed fetch and the next attempt. Default 5 s. */
  failureCooldownMs?: number;
  /** Keys older than this are refetched on next use. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** Default 5 s. */
  timeoutMs?: number;
}

export interface IdpKeys {
  /** The key resolver for jose's `jwtVerify`. */
  readonly resolve: RemoteJWKSet;
  /** Fetches the key set now (bypassing the success cooldown, not the failure one). */
  load(): Promise<void>;
  /** How many keys the cached set holds (0 before the first successful fetch). */
  keyCount(): number;
}

export function createIdpKeys(jwksUri: string, options: IdpKeysOptions): IdpKeys {
  const failureCooldownMs = options.failureCooldownMs ?? 5000;
  let lastFailure: number | undefined;

  const boundedFetch: FetchImplementation = async (url, init) => {
    if (lastFailure !== undefined && Date.now() - lastFailure < failureCooldownMs) {
      options.onFetch?.('suppressed');
      throw new Error('the JWKS fetch failed moments ago; not retried yet');
    }
    try {
      const response = await options.fetch(url, init);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      // Checked here rather than by jose, so a 200 with garbage counts as a failure too.
      const body: unknown = await response.json();
      if (!isKeySet(body)) throw new Error('not a JSON Web Key Set');
      lastFailure = undefined;
      options.onFetch?.('success');
      return Response.json(body);
    } catch (error) {
      lastFailure = Date.now();
      options.onFetch?.('failure');
      throw error;
    }
  };

  const resolve = createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5000,
    [customFetch]: boundedFetch,
  });
  return {
    resolve,
    load: () => resolve.reload(),
    keyCount: () => resolve.jwks()?.keys.length ?? 0,
  };
}

function isKeySet(value: unknown): value is { keys: unknown[] } {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
  );
}
