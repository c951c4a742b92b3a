/**
 * The shared limiter: one atomic script on Redis (`redis-script.ts`) decides a request, whatever
 * the number of rules, so replicas sharing one Redis count exactly as one process would.
 *
 * Decisions are sent in batches: every decision asked for during one turn of the event loop (the
 * requests whose bytes arrived together) goes in ONE script call, sent once that turn's I/O
 * callbacks have run (`setImmediate`), so a request waits for no timer. The script decides them
 * in order, each exactly as a call of its own would, so batching changes no count; what it saves
 * is the per-call work of both sides (a write and a read on the socket, ioredis's command and
 * reply objects, Redis's script call), which under load was most of the limiter's cost: at 50
 * concurrent connections a call carries ~10-40 decisions. A Redis Cluster takes one call per hash
 * tag (consumer), since a script may only touch one slot. At most `MAX_BATCH` decisions per call,
 * so one call never holds Redis for long.
 *
 * When Redis does not answer within `commandTimeoutMs`, or fails, the request is decided by a
 * local memory limiter with every limit divided by the number of replicas (rounded up, at least
 * 1): the cluster as a whole stays near the declared limit, no request fails because of the
 * limiter, and the decision says `degraded`. The timeout measures Redis, not this process: a
 * gateway whose event loop is busy (a burst of requests) finds replies already received before
 * it gives up on them (see `withTimeout`), otherwise every burst would look like an outage and be
 * counted locally, inexactly, just when exactness matters.
 *
 * Redis is held to be down when the connection is lost, or after `FAILURES_TO_DEGRADE` failures
 * in a row (one slow reply is not an outage). Entering and leaving that state is logged once each
 * and shown by the `apiway_ratelimit_degraded` gauge. While degraded, requests do not wait on
 * Redis at all; a background PING (exponential backoff) finds out when it answers again, and
 * counting goes back to Redis by itself. Requests counted locally during an outage are not
 * replayed into Redis: for up to one period after it, a consumer may get up to its limit again.
 */

import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RateLimitRule } from '../snapshot/schema.ts';
import { planCounters, toDecision } from './decision.ts';
import type { RateLimitDecision, RateLimiter } from './limiter.ts';
import { createMemoryLimiter } from './memory-store.ts';
import { type RateLimitMetrics, recordDecision } from './metrics.ts';
import {
  type BatchedRequest,
  batchArguments,
  parseBatchReply,
  RATE_LIMIT_COMMAND,
  RATE_LIMIT_LUA,
} from './redis-script.ts';

export interface RedisLimiterOptions {
  /** A connected ioredis client or Cluster (see `createRateLimitRedis`); the limiter never closes it. */
  redis: Redis | Cluster;
  logger: Pick<Logger, 'info' | 'warn'>;
  metrics?: RateLimitMetrics;
  /** How long one decision may wait on Redis before the fallback decides; default 100 ms. */
  commandTimeoutMs?: number;
  /** `replicas`: gateway replicas sharing the Redis; each local fallback limit is `ceil(limit / replicas)`. */
  fallback: { replicas: number };
  /** Clock of the local fallback (ms since the epoch); default `Date.now`. Redis decisions use Redis's clock. */
  now?: () => number;
  /** Delays between PINGs while degraded: from `initialMs` (default 100) doubling up to `maxMs` (default 2000). */
  probe?: { initialMs?: number; maxMs?: number };
}

/** Failures in a row (timeouts, errors) after which Redis is held to be down; a lost connection counts at once. */
export const FAILURES_TO_DEGRADE = 3;

/** Most decisions one script call carries (Redis runs a script alone: a bounded batch keeps it short). */
export const MAX_BATCH = 64;

/** A decision waiting for its batch: undefined when Redis failed (the caller decides locally). */
interface PendingDecision extends BatchedRequest {
  /** The rules asked for: also the request's shape (requests under one rule set share it). */
  shape: readonly RateLimitRule[];
  settle: (decision: RateLimitDecision | undefined) => void;
}

type ScriptCommand = Record<
  typeof RATE_LIMIT_COMMAND,
  (numberOfKeys: number, ...keysAndArguments: (string | number)[]) => Promise<unknown>
>;

export function createRedisLimiter(options: RedisLimiterOptions): RateLimiter {
  const { redis, logger, metrics } = options;
  const commandTimeoutMs = options.commandTimeoutMs ?? 100;
  const replicas =
    Number.isSafeInteger(options.fallback.replicas) && options.fallback.replicas > 0
      ? options.fallback.replicas
      : 1;
  const initialProbeMs = options.probe?.initialMs ?? 100;
  const maxProbeMs = options.probe?.maxMs ?? 2000;
  const fallback = createMemoryLimiter(options.now === undefined ? {} : { now: options.now });

  redis.defineCommand(RATE_LIMIT_COMMAND, { lua: RATE_LIMIT_LUA });
  const script = redis as unknown as ScriptCommand;

  let degraded = false;
  let failuresInARow = 0;
  let closed = false;
  let probeDelayMs = initialProbeMs;
  let probeTimer: NodeJS.Timeout | undefined;
  metrics?.degraded.set(0);

  // Decisions asked for in this turn of the event loop, by batch (one per hash tag in a Cluster).
  const cluster = (redis as { isCluster?: boolean }).isCluster === true;
  let queued = new Map<string, PendingDecision[]>();
  let flushScheduled = false;

  function decideInRedis(
    consumer: string,
    rules: readonly RateLimitRule[],
  ): Promise<RateLimitDecision | undefined> {
    const plan = planCounters(consumer, rules);
    // Every key of one consumer carries the same hash tag (keys.ts), so the first tells its slot.
    const batch = cluster ? hashTag(plan.keys[0] ?? '') : '';
    return new Promise((settle) => {
      let pending = queued.get(batch);
      if (!pending) {
        pending = [];
        queued.set(batch, pending);
      }
      pending.push({ ...plan, shape: rules, settle });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }

  function flush(): void {
    flushScheduled = false;
    const batches = queued;
    queued = new Map();
    for (const pending of batches.values()) {
      for (let start = 0; start < pending.length; start += MAX_BATCH) {
        void send(pending.slice(start, start + MAX_BATCH));
      }
    }
  }

  /** One script call for `batch`; settles every decision in it, never rejects. */
  async function send(batch: PendingDecision[]): Promise<void> {
    const { keys, args } = batchArguments(batch);
    const started = performance.now();
    let replies: ReturnType<typeof parseBatchReply>;
    try {
      const reply = await withTimeout(
        script[RATE_LIMIT_COMMAND](keys.length, ...keys, ...args),
        commandTimeoutMs,
      );
      replies = parseBatchReply(
        reply,
        batch.map((pending) => pending.rules.length),
      );
    } catch (error) {
      metrics?.redisSeconds.observe({ result: 'error' }, (performance.now() - started) / 1000);
      // One failed call is one failure, however many decisions it carried.
      recordFailure(error);
      for (const pending of batch) pending.settle(undefined);
      return;
    }
    metrics?.redisSeconds.observe({ result: 'ok' }, (performance.now() - started) / 1000);
    failuresInARow = 0;
    // Reset only once a decision succeeds: a Redis that answers PING but fails scripts
    // (out of memory, say) is probed less and less often instead of flapping.
    probeDelayMs = initialProbeMs;
    batch.forEach((pending, index) => {
      const { allowed, outcomes } = replies[index] as (typeof replies)[number];
      recordDecision(metrics, allowed, 'redis');
      pending.settle(toDecision(pending.shape, outcomes, allowed, false));
    });
  }

  function recordFailure(error: unknown): void {
    failuresInARow++;
    if (failuresInARow >= FAILURES_TO_DEGRADE || redis.status !== 'ready') enterDegraded(error);
  }

  function enterDegraded(error: unknown): void {
    if (degraded || closed) return;
    degraded = true;
    metrics?.degraded.set(1);
    logger.warn(
      { reason: error instanceof Error ? error.message : String(error), replicas },
      'rate limits degraded: Redis is unreachable, each limit is enforced locally divided by the replica count',
    );
    scheduleProbe();
  }

  function leaveDegraded(): void {
    if (!degraded) return;
    degraded = false;
    metrics?.degraded.set(0);
    logger.info(
      'rate limits restored: Redis answers again, limits are counted exactly across replicas',
    );
  }

  function scheduleProbe(): void {
    if (closed) return;
    probeTimer = setTimeout(probe, probeDelayMs);
    // A pending probe must not keep a stopping process alive.
    probeTimer.unref();
    probeDelayMs = Math.min(maxProbeMs, probeDelayMs * 2);
  }

  function probe(): void {
    probeTimer = undefined;
    withTimeout(redis.ping(), commandTimeoutMs).then(
      () => {
        failuresInARow = 0;
        if (!closed) leaveDegraded();
      },
      () => scheduleProbe(),
    );
  }

  function decideLocally(
    consumer: string,
    rules: readonly RateLimitRule[],
  ): Promise<RateLimitDecision> {
    const local = rules.map((rule) => ({
      ...rule,
      requests: Math.max(1, Math.ceil(rule.requests / replicas)),
    }));
    return fallback.check(consumer, local).then((decision) => {
      recordDecision(metrics, decision.allowed, 'fallback');
      return { ...decision, degraded: true };
    });
  }

  return {
    async check(consumer, rules) {
      if (rules.length === 0) return { allowed: true, states: [], degraded };
      if (!degraded) {
        const decision = await decideInRedis(consumer, rules);
        if (decision) return decision;
      }
      return decideLocally(consumer, rules);
    },
    async close() {
      closed = true;
      if (probeTimer !== undefined) clearTimeout(probeTimer);
      probeTimer = undefined;
      await fallback.close();
    },
  };
}

/** The hash tag of a counter key (`{...}`, keys.ts): the Cluster slot it lives in. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open === -1 || close === -1 ? key : key.slice(open + 1, close);
}

/**
 * Rejects when `promise` has not settled within `ms` (its own later rejection is then ignored).
 *
 * When the timer fires, the verdict waits for `setImmediate`, i.e. until the event loop has read
 * the sockets once more: timers run before I/O in each turn of the loop, so a process busy for
 * longer than `ms` would otherwise time out replies that had long arrived and only waited to be
 * read. What is timed out is then a Redis (or network) that really did not answer.
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (!settled) reject(new Error(`Redis did not answer within ${ms} ms`));
      });
    }, ms);
    promise.then(
      (value) => {
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
