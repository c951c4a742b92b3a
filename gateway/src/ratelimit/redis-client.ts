/**
 * The ioredis client the rate limiter needs, for `main.ts` to create (only `main.ts` creates
 * clients; this holds the options that make the limiter's outage behaviour work):
 * - `commandTimeout` (a backstop, 10× the limiter's own timeout and at least 1 s): the limiter
 *   gives up on a slow decision after `commandTimeoutMs` itself, measuring Redis rather than its
 *   own event-loop lag (`redis-store.ts`); this one only clears the commands a stalled Redis never
 *   answers, so they cannot pile up;
 * - `enableOfflineQueue: false`: while disconnected, commands fail at once instead of queueing
 *   (a queue would hold requests until Redis is back, or forever);
 * - `maxRetriesPerRequest: 1`: a command caught by a disconnect is not retried into the next one;
 * - reconnection keeps trying (backoff capped at 2 s), so the limiter returns to Redis by itself;
 * - NO `enableAutoPipelining`: ioredis keeps one auto-pipeline in flight per connection and holds
 *   the next batch until the previous one fully answered, so under a burst on a busy process a
 *   healthy Redis looks slow to the limiter's timeout (the batch is sent late, not answered
 *   late) and decisions fall back to the local, inexact limiter. Measured: the three-replica
 *   exactness test (test/gateway/ratelimit/replicas.e2e.test.ts) admitted 113-135 of 100, and
 *   no CPU saved per decision (16.7-28.8 µs with it, 14.6-35.9 µs without, 4-64 in flight).
 *
 * `rediss://` URLs turn TLS on; a password comes from the URL (`redis://:secret@host:6379`,
 * `redis://user:secret@…`) or from `password` (e.g. read from an environment variable by `main`).
 * With `cluster`, the URL names one seed node of a Redis Cluster; the counters of one consumer
 * share a hash tag, hence a slot (`keys.ts`).
 */

import { once } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface RateLimitRedisOptions {
  url: string;
  /** Overrides the URL's password (never logged). */
  password?: string;
  cluster?: boolean;
  /** The limiter's timeout (default 100 ms); the client's own `commandTimeout` is a backstop derived from it. */
  commandTimeoutMs?: number;
}

export function createRateLimitRedis(options: RateLimitRedisOptions): Redis | Cluster {
  const url = new URL(options.url);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`--redis-url must start with redis:// or rediss://, not ${url.protocol}//`);
  }
  const commandTimeout = Math.max(1000, 10 * (options.commandTimeoutMs ?? 100));
  const connection: RedisOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    commandTimeout,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(options.password !== undefined
      ? { password: options.password }
      : url.password === ''
        ? {}
        : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
  };
  const retryStrategy = (times: number) => Math.min(times * 100, 2000);
  let client: Redis | Cluster;
  if (options.cluster) {
    const { host, port, ...redisOptions } = connection;
    client = new Cluster([{ host: host ?? '127.0.0.1', port: port ?? 6379 }], {
      redisOptions,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
    });
  } else {
    const database = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    client = new Redis({ ...connection, db: database, enableOfflineQueue: false, retryStrategy });
  }
  // The limiter reports an outage once (log line and gauge); without a listener ioredis would
  // print every failed reconnection attempt.
  client.on('error', () => {});
  return client;
}

/** Resolves true once the client is ready, false after `timeoutMs` (the limiter then starts degraded and recovers by itself). */
export async function redisReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  try {
    await once(client, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
    return true;
  } catch {
    return false;
  }
}
