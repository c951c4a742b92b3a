/**
 * The gateway, built by a factory and driven by plain `node:http` handlers: `main.ts` creates
 * the servers, the logger, the metrics Registry and the rate limiter, and calls `listen`;
 * tests drive the same handlers in-process. No web framework: the gateway's surface is a handful
 * of fixed endpoints plus one pipeline (pipeline/handle-request.ts) that must see the raw
 * request target and stream bodies both ways, which node:http gives directly.
 *
 * Snapshots: `update()` builds everything a request needs (indexes, operation matchers, keys,
 * upstream pools) BEFORE swapping one reference; a request keeps the state it started with
 * until its response ends, and pools a new snapshot no longer uses close only after the last
 * such request. Updates are serialised: the last one called wins. A failed update keeps the
 * previous state.
 *
 * A reload never stalls the requests served meanwhile: indexes are built in slices of ~10 ms
 * that give the event loop back between them (snapshot/time-slices.ts), Apis that did not change
 * keep their prepared matchers, and an unchanged key set keeps its imported keys (and with them
 * the verified tokens they vouch for).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { handleAdminRequest } from './admin/handle-admin.ts';
import { bearerChallenge, errorBody, GatewayError, toGatewayError } from './errors.ts';
import type { IdpHealth } from './idp/idp-health.ts';
import { createIdpTrust, type IdpTiming, type IdpTrust } from './idp/idp-trust.ts';
import { createIdpMetrics } from './idp/metrics.ts';
import { createVerifiedTokenCache } from './oauth/access-token.ts';
import { createMemoryAuthorizationStore } from './oauth/authorize/memory-store.ts';
import type { AuthorizationServices } from './oauth/authorize/services.ts';
import type { AuthorizationStore } from './oauth/authorize/store.ts';
import { type LoadedKeys, loadSigningKeys } from './oauth/keys.ts';
import type { SigningKeySet } from './oauth/signing-keys.ts';
import { pathWithoutQuery } from './observability/logger.ts';
import { createMetrics, NO_API, statusClass } from './observability/metrics.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './observability/request-id.ts';
import { handleGatewayRequest, type RequestRecord } from './pipeline/handle-request.ts';
import { sendJson } from './pipeline/reserved-endpoints.ts';
import { prepareApisInSlices, type ServingState, servingState } from './pipeline/serving-state.ts';
import { createUpstreamPools, type UpstreamPoolOptions } from './proxy/pools.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import { loadSnapshotInSlices, sha256Hex } from './snapshot/loaded.ts';
import type { Snapshot } from './snapshot/schema.ts';

export interface GatewayOptions {
  logger: Logger;
  /** Metrics are registered here (never on prom-client's global registry). */
  registry: Registry;
  limiter: RateLimiter;
  /** The URL clients reach the gateway at: issuers are `{publicUrl}{basePath}`. */
  publicUrl: string;
  /** The environment this gateway serves: a snapshot of another one is refused. */
  environment: string;
  now?: () => Date;
  /** Options of the per-origin undici pools. */
  upstream?: UpstreamPoolOptions;
  /** Largest token request body, in bytes (default 64 KiB). */
  maxTokenRequestBytes?: number;
  // --- Authorization code flow and external IdPs (issue 6) ---
  /**
   * Where sign-ins in progress, codes and code-replay revocations live. Several replicas need
   * a shared one: `createRedisAuthorizationStore` (oauth/authorize/redis-store.ts). Default: in
   * memory (one replica). Not closed by the gateway when given.
   */
  authorizationStore?: AuthorizationStore;
  /** Every HTTP request to an IdP (discovery, JWKS, login token endpoint). Default: global fetch. */
  idpFetch?: typeof fetch;
  /** Retry, refresh and cooldown periods of IdP discovery and keys (tests shorten them). */
  idpTiming?: Partial<IdpTiming>;
  /**
   * How many verified access tokens are remembered (their signatures are not checked again;
   * every other check still runs per request). Default 10 000; 0 turns the cache off.
   */
  verifiedTokenCacheSize?: number;
}

export interface Gateway {
  /** The main port: reserved endpoints and the Api pipeline. Never rejects. */
  handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The admin port: `/healthz`, `/readyz`, `/metrics`. Never rejects. */
  handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * Loads a snapshot and its environment's signing keys; throws (keeping the previous state) when
   * they cannot be served. `idpLoginSecrets`: the client secret of each IdpAssociation `login`
   * that has a `clientSecretRef`, by IdpAssociation id (`namespace/name`); see
   * idp/login-secrets.ts. Omitted: no login secret (public login clients only).
   */
  update(
    snapshot: Snapshot,
    keys: SigningKeySet,
    idpLoginSecrets?: ReadonlyMap<string, string>,
  ): Promise<void>;
  /** Discovery and key health of every IdpAssociation of the current snapshot (for its status). */
  idpHealth(): IdpHealth[];
  /** The version of the snapshot being served, undefined before the first successful update. */
  readonly loadedVersion: string | undefined;
  /** Closes the upstream pools (after in-flight requests). Call once the servers stopped accepting. */
  close(): Promise<void>;
}

/** A ServingState plus what it takes to release it once superseded and idle. */
interface Generation {
  state: ServingState;
  inflight: number;
  superseded: boolean;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { logger, registry, limiter, publicUrl } = options;
  const now = options.now ?? (() => new Date());
  const maxTokenRequestBytes = options.maxTokenRequestBytes ?? 64 * 1024;
  const metrics = createMetrics(registry);
  const pools = createUpstreamPools(options.upstream);
  let idps: IdpTrust | undefined;
  const idpMetrics = createIdpMetrics(registry, () => idps?.health() ?? []);
  idps = createIdpTrust({
    logger,
    metrics: idpMetrics,
    now,
    ...(options.idpFetch ? { fetch: options.idpFetch } : {}),
    ...(options.idpTiming ? { timing: options.idpTiming } : {}),
  });
  const authorization: AuthorizationServices = {
    idps,
    store: options.authorizationStore ?? createMemoryAuthorizationStore(),
    logger,
  };
  const verifiedTokens = createVerifiedTokenCache(options.verifiedTokenCacheSize);
  let current: Generation | undefined;
  let updates: Promise<void> = Promise.resolve();
  /** The key set loaded last, by a hash of its JSON: an unchanged set is not imported again. */
  let loadedKeys: { hash: string; keys: LoadedKeys } | undefined;

  const enter = (generation: Generation): void => {
    generation.inflight++;
  };
  const leave = (generation: Generation): void => {
    generation.inflight--;
    if (generation.superseded && generation.inflight === 0) generation.state.pools.release();
  };

  async function load(
    snapshot: Snapshot,
    keySet: SigningKeySet,
    idpLoginSecrets: ReadonlyMap<string, string> | undefined,
  ): Promise<void> {
    try {
      if (snapshot.environment !== options.environment) {
        throw new Error(
          `Snapshot of environment ${snapshot.environment}, this gateway serves ${options.environment}.`,
        );
      }
      const loaded = await loadSnapshotInSlices(snapshot);
      const apis = await prepareApisInSlices(loaded, current?.state.apis);
      // Most reloads change the snapshot, not the keys: the same set keeps its imported keys,
      // and with them the verified tokens they vouch for (see oauth/access-token.ts).
      const keysHash = sha256Hex(JSON.stringify(keySet));
      const keys =
        loadedKeys?.hash === keysHash ? loadedKeys.keys : await loadSigningKeys(keySet, now());
      const next: Generation = {
        state: servingState(loaded, keys, apis, pools),
        inflight: 0,
        superseded: false,
      };
      const previous = current;
      current = next;
      loadedKeys = { hash: keysHash, keys };
      // After the swap (it never throws): IdPs the snapshot names start discovery in the background.
      authorization.idps.sync(snapshot.idps, idpLoginSecrets);
      if (previous) {
        previous.superseded = true;
        if (previous.inflight === 0) previous.state.pools.release();
      }
    } catch (error) {
      metrics.snapshotLoads.inc({ result: 'failure' });
      throw error;
    }
    metrics.snapshotLoads.inc({ result: 'success' });
    metrics.snapshotInfo.reset();
    metrics.snapshotInfo.set({ environment: snapshot.environment, version: snapshot.version }, 1);
    logger.info({ version: snapshot.version, apis: snapshot.apis.length }, 'snapshot loaded');
  }

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = requestIdOf(req.headers);
    const record: RequestRecord = {};
    const generation = current;
    if (generation) enter(generation);
    try {
      if (!generation) {
        throw new GatewayError(
          'service_unavailable',
          'The gateway has not loaded its configuration yet.',
          {
            headers: { 'retry-after': '1' },
          },
        );
      }
      await handleGatewayRequest(req, res, {
        state: generation.state,
        requestId,
        now: now(),
        limiter,
        publicUrl,
        maxTokenRequestBytes,
        metrics,
        authorization,
        verifiedTokens,
        record,
      });
    } catch (error) {
      const gatewayError = toGatewayError(error);
      record.error = gatewayError.code;
      try {
        sendError(res, gatewayError, requestId, logger);
      } catch (sendFailure) {
        logger.error({ requestId, err: sendFailure }, 'error response failed');
        res.destroy();
      }
    } finally {
      if (generation) leave(generation);
      // 499 (nginx's convention): the client went away before the response could be sent.
      const status = record.aborted && !res.headersSent ? 499 : res.statusCode;
      const api = record.api ?? NO_API;
      const seconds = (performance.now() - started) / 1000;
      metrics.requests.inc({ api, status_class: statusClass(status) });
      metrics.requestDuration.observe({ api }, seconds);
      // The logger itself, not a child per request: a child costs more than the line.
      logger.info(
        {
          requestId,
          method: req.method,
          path: pathWithoutQuery(req.url ?? ''),
          status,
          durationMs: Math.round(seconds * 1000),
          ...record,
        },
        'request completed',
      );
    }
  }

  return {
    handleRequest,
    handleAdmin: (req, res) =>
      handleAdminRequest(req, res, {
        registry,
        logger,
        loadedVersion: () => current?.state.loaded.snapshot.version,
      }),
    update(snapshot, keys, idpLoginSecrets) {
      // Serialised, so two reloads can never finish out of order.
      const run = updates.then(() => load(snapshot, keys, idpLoginSecrets));
      updates = run.catch(() => undefined);
      return run;
    },
    idpHealth: () => authorization.idps.health(),
    get loadedVersion() {
      return current?.state.loaded.snapshot.version;
    },
    async close() {
      await updates;
      authorization.idps.close();
      if (!options.authorizationStore) await authorization.store.close();
      await pools.close();
    },
  };
}

/** Answers a GatewayError: RFC 6749-shaped JSON, `WWW-Authenticate` for 401/403 of resources. */
function sendError(res: ServerResponse, error: GatewayError, requestId: string, log: Logger): void {
  if (error.code === 'server_error')
    log.error({ requestId, err: error.cause ?? error }, 'request failed');
  else if (error.cause !== undefined)
    log.warn({ requestId, err: error.cause, code: error.code }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = {
    ...error.headers,
    [REQUEST_ID_HEADER]: requestId,
    'cache-control': 'no-store',
  };
  const challenge = bearerChallenge(error);
  if (challenge) headers['www-authenticate'] = challenge;
  sendJson(res, error.status, errorBody(error), headers);
}
