/**
 * One undici `Pool` (keep-alive connections) per backend origin, shared by every snapshot that
 * names that origin. Pools are reference-counted by `PoolSet`s: the gateway takes one set per
 * loaded snapshot and releases it when that snapshot is superseded AND its last in-flight
 * request ended. A pool whose origin is still used is reused across reloads (its warm
 * connections survive a reload); one no snapshot in use needs is closed gracefully (undici's
 * `close()` lets running requests finish).
 *
 * A pool is opened when its origin is first called, not when a snapshot names it: an idle Pool
 * weighs ~18 KiB, so 10,000 Apis' backends opened up front would hold 180 MiB for Apis that may
 * see no traffic on this replica.
 */

import { Pool } from 'undici';

export interface UpstreamPoolOptions {
  /** Max connections per origin; default: unlimited (undici's default). */
  connections?: number;
  /** TCP/TLS connect timeout; default 10 000 (undici's default). */
  connectTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept; default 4 000 (undici's default). */
  keepAliveTimeoutMs?: number;
}

export interface PoolSet {
  /** The pool of an origin this set was acquired for. */
  get(origin: string): Pool;
  /** Drops this set's references; pools nobody references any more are closed. Idempotent. */
  release(): void;
}

export interface UpstreamPools {
  acquire(origins: Iterable<string>): PoolSet;
  /** Closes every pool, waiting for running requests. */
  close(): Promise<void>;
}

interface Entry {
  /** Opened on first use. */
  pool?: Pool;
  references: number;
}

export function createUpstreamPools(options: UpstreamPoolOptions = {}): UpstreamPools {
  const entries = new Map<string, Entry>();

  const open = (origin: string): Pool =>
    new Pool(origin, {
      ...(options.connections === undefined ? {} : { connections: options.connections }),
      ...(options.connectTimeoutMs === undefined
        ? {}
        : { connectTimeout: options.connectTimeoutMs }),
      ...(options.keepAliveTimeoutMs === undefined
        ? {}
        : { keepAliveTimeout: options.keepAliveTimeoutMs }),
    });

  return {
    acquire(origins) {
      const held = new Map<string, Entry>();
      for (const origin of origins) {
        if (held.has(origin)) continue;
        let entry = entries.get(origin);
        if (!entry) {
          entry = { references: 0 };
          entries.set(origin, entry);
        }
        entry.references++;
        held.set(origin, entry);
      }
      let released = false;
      return {
        get(origin) {
          const entry = held.get(origin);
          if (!entry) throw new Error(`No upstream pool for ${origin} in this snapshot.`);
          entry.pool ??= open(origin);
          return entry.pool;
        },
        release() {
          if (released) return;
          released = true;
          for (const [origin, entry] of held) {
            if (--entry.references > 0) continue;
            if (entries.get(origin) === entry) entries.delete(origin);
            // Graceful: requests already dispatched on it complete first.
            void entry.pool?.close().catch(() => undefined);
          }
        },
      };
    },
    async close() {
      const pools = [...entries.values()].flatMap((entry) => (entry.pool ? [entry.pool] : []));
      entries.clear();
      await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
    },
  };
}
