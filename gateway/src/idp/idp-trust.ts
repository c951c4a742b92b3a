/**
 * The IdpAssociations a gateway trusts, kept across snapshot reloads: per IdP its discovery
 * document, its cached signing keys, its login client, and its health.
 *
 * Lifecycle of one IdP (identified by its IdpAssociation id and issuer; a changed issuer starts
 * afresh): discovery and a first key fetch start in the background as soon as a snapshot names
 * it (never blocking the reload: an unreachable IdP must not stop the gateway from serving
 * everything else); a failure is retried with exponential backoff (1 s up to 60 s); once
 * healthy, it is checked again every 10 minutes, and the last good document and keys keep
 * serving through a failed check. A request that meets an IdP not discovered yet triggers one
 * attempt itself, at most once per `onDemandMs`, and waits for it.
 *
 * Timers are unref'd and stopped by `close()`.
 */

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import type { SnapshotIdp } from '../snapshot/schema.ts';
import { describeFetchError, discoverIdp, type IdpMetadata } from './discovery.ts';
import type { IdpHealth } from './idp-health.ts';
import { createLoginClient, type LoginClient } from './login-client.ts';
import type { IdpMetrics } from './metrics.ts';
import { createIdpKeys, type IdpKeys, type JwksFetchResult } from './remote-keys.ts';
import { type IdpTokenClaims, verifyIdpToken } from './verify-idp-token.ts';

export interface IdpTiming {
  /** Between checks of a healthy IdP. Default 10 min. */
  recheckMs: number;
  /** First retry after a failure; doubles up to `retryMaxMs`. Default 1 s. */
  retryMinMs: number;
  /** Default 60 s. */
  retryMaxMs: number;
  /** Least time between two attempts triggered by requests. Default 5 s. */
  onDemandMs: number;
  /** JWKS refetch for an unknown kid, at most once per this after a success. Default 30 s. */
  jwksCooldownMs: number;
  /** JWKS refetch after a failed one, at most once per this. Default 5 s. */
  jwksFailureCooldownMs: number;
  /** Each HTTP request to the IdP. Default 5 s. */
  timeoutMs: number;
}

export const DEFAULT_IDP_TIMING: IdpTiming = {
  recheckMs: 600_000,
  retryMinMs: 1000,
  retryMaxMs: 60_000,
  onDemandMs: 5000,
  jwksCooldownMs: 30_000,
  jwksFailureCooldownMs: 5000,
  timeoutMs: 5000,
};

export interface IdpTrustOptions {
  logger: Logger;
  /** Metrics are created with `createIdpMetrics(registry, trust.health)`: pass them in. */
  metrics?: IdpMetrics;
  /** Every HTTP request to an IdP (discovery, JWKS, login token endpoint). Default: global fetch. */
  fetch?: typeof fetch;
  now?: () => Date;
  timing?: Partial<IdpTiming>;
}

export interface IdpTrust {
  /**
   * Reconciles with a snapshot's IdPs: new ones start discovery, removed ones stop, a changed
   * issuer starts afresh. `loginSecrets`: the client secret of each IdP's `login`, by
   * IdpAssociation id (secrets are not in the snapshot).
   */
  sync(idps: readonly SnapshotIdp[], loginSecrets?: ReadonlyMap<string, string>): void;
  /** Verifies a token of this IdP (verify-idp-token.ts). Throws `invalid_token`. */
  verifyToken(idp: SnapshotIdp, token: string, now: Date): Promise<IdpTokenClaims>;
  /** The OpenID Connect client of this IdP's `login`. Throws a plain Error when unavailable. */
  loginClient(idp: SnapshotIdp): Promise<LoginClient>;
  /** Health of every IdP of the last `sync`, sorted by id. */
  health(): IdpHealth[];
  /** Stops every timer. */
  close(): void;
}

/** A runtime whose discovery succeeded at least once. */
type ReadyRuntime = IdpRuntime & { metadata: IdpMetadata; keys: IdpKeys };

interface IdpRuntime {
  id: string;
  issuer: string;
  metadata?: IdpMetadata;
  keys?: IdpKeys;
  checking?: Promise<void>;
  timer?: NodeJS.Timeout;
  failures: number;
  lastAttempt?: number;
  lastCheckTime?: Date;
  lastSuccessTime?: Date;
  message: string;
  /** The last JWKS fetch (by a check or a request) failed: keys may be stale. */
  keysFailing?: string;
  loginSecret?: string;
  login?: { fingerprint: string; client: LoginClient };
  closed: boolean;
}

export function createIdpTrust(options: IdpTrustOptions): IdpTrust {
  const { logger, metrics } = options;
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? (() => new Date());
  const timing: IdpTiming = { ...DEFAULT_IDP_TIMING, ...options.timing };
  const runtimes = new Map<string, IdpRuntime>();

  const schedule = (runtime: IdpRuntime, delayMs: number): void => {
    if (runtime.closed) return;
    clearTimeout(runtime.timer);
    runtime.timer = setTimeout(() => void check(runtime), delayMs);
    runtime.timer.unref();
  };

  const onFetch = (runtime: IdpRuntime) => (result: JwksFetchResult) => {
    metrics?.jwksFetches.inc({ idp: runtime.id, result });
    if (result === 'success') runtime.keysFailing = undefined;
    else if (result === 'failure') runtime.keysFailing = 'the signing keys could not be refreshed';
  };

  function check(runtime: IdpRuntime): Promise<void> {
    if (runtime.checking) return runtime.checking;
    runtime.lastAttempt = Date.now();
    runtime.checking = (async () => {
      runtime.lastCheckTime = now();
      let step = 'discovery';
      try {
        const metadata = await discoverIdp(runtime.issuer, {
          fetch: fetchImpl,
          timeoutMs: timing.timeoutMs,
        });
        metrics?.discoveries.inc({ idp: runtime.id, result: 'success' });
        if (!runtime.keys || runtime.metadata?.jwksUri !== metadata.jwksUri) {
          runtime.keys = createIdpKeys(metadata.jwksUri, {
            fetch: fetchImpl,
            onFetch: onFetch(runtime),
            cooldownMs: timing.jwksCooldownMs,
            failureCooldownMs: timing.jwksFailureCooldownMs,
            cacheMaxAgeMs: timing.recheckMs,
            timeoutMs: timing.timeoutMs,
          });
        }
        if (JSON.stringify(runtime.metadata?.document) !== JSON.stringify(metadata.document)) {
          runtime.login = undefined;
        }
        runtime.metadata = metadata;
        step = 'keys';
        await runtime.keys.load();
        if (runtime.keys.keyCount() === 0) throw new Error('the JWKS holds no key');
        if (runtime.failures > 0 || runtime.lastSuccessTime === undefined) {
          logger.info(
            { event: 'idp_ready', idp: runtime.id, keys: runtime.keys.keyCount() },
            `IdP ${runtime.id}: discovery and signing keys loaded`,
          );
        }
        runtime.failures = 0;
        runtime.message = '';
        runtime.lastSuccessTime = now();
        schedule(runtime, timing.recheckMs);
      } catch (error) {
        if (step === 'discovery') metrics?.discoveries.inc({ idp: runtime.id, result: 'failure' });
        const message =
          step === 'discovery'
            ? (error as Error).message
            : `signing keys at ${runtime.metadata?.jwksUri} could not be loaded: ${describeFetchError(error)}`;
        if (runtime.message !== message) {
          logger.warn(
            { event: 'idp_unhealthy', idp: runtime.id, reason: message },
            `IdP ${runtime.id}: ${message}`,
          );
        }
        runtime.message = message;
        runtime.failures++;
        schedule(
          runtime,
          Math.min(timing.retryMinMs * 2 ** (runtime.failures - 1), timing.retryMaxMs),
        );
      } finally {
        runtime.checking = undefined;
      }
    })();
    return runtime.checking;
  }

  /** The runtime of the request's IdP, discovered; waits for (or triggers, bounded) an attempt. */
  async function ready(idp: SnapshotIdp): Promise<ReadyRuntime> {
    const runtime = runtimes.get(idp.id);
    // A request may hold an older snapshot than the last sync: its IdP must still be the same.
    if (runtime && runtime.issuer === idp.issuer) {
      if (!runtime.metadata) {
        if (runtime.checking) await runtime.checking;
        else if (Date.now() - (runtime.lastAttempt ?? 0) >= timing.onDemandMs) await check(runtime);
      }
      if (runtime.metadata && runtime.keys) {
        return runtime as ReadyRuntime;
      }
    }
    throw new GatewayError(
      'invalid_token',
      "The identity provider's signing keys are not available; the token cannot be verified now.",
    );
  }

  function stop(runtime: IdpRuntime): void {
    runtime.closed = true;
    clearTimeout(runtime.timer);
  }

  return {
    sync(idps, loginSecrets) {
      const wanted = new Set(idps.map((idp) => idp.id));
      for (const [id, runtime] of runtimes) {
        if (wanted.has(id)) continue;
        stop(runtime);
        runtimes.delete(id);
        metrics?.forget(id);
      }
      for (const idp of idps) {
        let runtime = runtimes.get(idp.id);
        if (runtime && runtime.issuer !== idp.issuer) {
          stop(runtime);
          metrics?.forget(idp.id);
          runtime = undefined;
        }
        if (!runtime) {
          runtime = {
            id: idp.id,
            issuer: idp.issuer,
            failures: 0,
            message: 'not checked yet',
            closed: false,
          };
          runtimes.set(idp.id, runtime);
          void check(runtime);
        }
        runtime.loginSecret = loginSecrets?.get(idp.id);
      }
    },

    async verifyToken(idp, token, at) {
      const runtime = await ready(idp);
      return verifyIdpToken(token, { idp, keys: runtime.keys.resolve, now: at });
    },

    async loginClient(idp) {
      const { login } = idp;
      if (!login) throw new Error(`IdpAssociation ${idp.id} has no login`);
      let runtime: ReadyRuntime;
      try {
        runtime = await ready(idp);
      } catch {
        throw new Error(`IdP ${idp.id} is not reachable: ${runtimes.get(idp.id)?.message ?? ''}`);
      }
      if (!runtime.metadata.authorizationEndpoint || !runtime.metadata.tokenEndpoint) {
        throw new Error(`IdP ${idp.id} announces no authorization or token endpoint`);
      }
      const secret = runtime.loginSecret;
      if (login.clientSecretRef && secret === undefined) {
        throw new Error(
          `the login client secret of IdpAssociation ${idp.id} (Secret ${login.clientSecretRef.name}, key ${login.clientSecretRef.key}) is not available to the gateway`,
        );
      }
      // The secret's hash, never the secret, tells whether the cached client is still right.
      const fingerprint = `${login.clientId}\n${secret === undefined ? '' : createHash('sha256').update(secret).digest('hex')}`;
      if (runtime.login?.fingerprint !== fingerprint) {
        runtime.login = {
          fingerprint,
          client: createLoginClient(runtime.metadata, {
            clientId: login.clientId,
            ...(secret === undefined ? {} : { clientSecret: secret }),
            fetch: fetchImpl,
          }),
        };
      }
      return runtime.login.client;
    },

    health() {
      return [...runtimes.values()]
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((runtime) => healthOf(runtime));
    },

    close() {
      for (const runtime of runtimes.values()) stop(runtime);
    },
  };
}

function healthOf(runtime: IdpRuntime): IdpHealth {
  const keys = runtime.keys?.keyCount() ?? 0;
  const message = runtime.message || runtime.keysFailing || '';
  const health: IdpHealth = {
    id: runtime.id,
    issuer: runtime.issuer,
    healthy: runtime.metadata !== undefined && keys > 0 && message === '',
    discovered: runtime.metadata !== undefined,
    keys,
    message,
  };
  if (runtime.metadata) health.jwksUri = runtime.metadata.jwksUri;
  if (runtime.lastCheckTime) health.lastCheckTime = runtime.lastCheckTime.toISOString();
  if (runtime.lastSuccessTime) health.lastSuccessTime = runtime.lastSuccessTime.toISOString();
  return health;
}
