/**
 * The authorization store of a single gateway (standalone without `--redis-url`): Maps with
 * expiry times, swept at most once a minute on writes so nothing outlives its TTL for long.
 * JavaScript runs one step at a time, so each operation is atomic as the Redis scripts are.
 */

import type {
  AuthorizationCode,
  AuthorizationStore,
  AuthorizationTransaction,
  CodeRedemption,
} from './store.ts';

interface Expiring<T> {
  value: T;
  /** Epoch ms. */
  until: number;
}

interface UsedCode {
  jtis: Set<string>;
  replayed: boolean;
}

const SWEEP_INTERVAL_MS = 60_000;

export function createMemoryAuthorizationStore(
  options: { now?: () => number } = {},
): AuthorizationStore {
  const now = options.now ?? Date.now;
  const transactions = new Map<string, Expiring<AuthorizationTransaction>>();
  const codes = new Map<string, Expiring<AuthorizationCode>>();
  const used = new Map<string, Expiring<UsedCode>>();
  const revoked = new Map<string, Expiring<true>>();
  let lastSweep = now();

  const live = <T>(map: Map<string, Expiring<T>>, key: string): T | undefined => {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (entry.until <= now()) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  };
  const put = <T>(map: Map<string, Expiring<T>>, key: string, value: T, ttlSeconds: number) => {
    sweep();
    map.set(key, { value, until: now() + ttlSeconds * 1000 });
  };
  const sweep = () => {
    const at = now();
    if (at - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = at;
    for (const map of [transactions, codes, used, revoked] as Array<
      Map<string, Expiring<unknown>>
    >) {
      for (const [key, entry] of map) if (entry.until <= at) map.delete(key);
    }
  };
  const codeKey = (apiId: string, codeHash: string) => `${apiId}\n${codeHash}`;

  return {
    async saveTransaction(transaction, ttlSeconds) {
      put(transactions, transaction.id, structuredClone(transaction), ttlSeconds);
    },
    async loadTransaction(id) {
      const transaction = live(transactions, id);
      return transaction && structuredClone(transaction);
    },
    async takeTransaction(id) {
      const transaction = live(transactions, id);
      transactions.delete(id);
      return transaction;
    },
    async saveCode(codeHash, code, ttlSeconds) {
      put(codes, codeKey(code.apiId, codeHash), structuredClone(code), ttlSeconds);
    },
    async redeemCode(apiId, codeHash, usedTtlSeconds): Promise<CodeRedemption> {
      const key = codeKey(apiId, codeHash);
      const mark = live(used, key);
      if (mark) {
        mark.replayed = true;
        for (const jti of mark.jtis) put(revoked, jti, true, usedTtlSeconds);
        return { outcome: 'replayed' };
      }
      const code = live(codes, key);
      if (!code) return { outcome: 'unknown' };
      codes.delete(key);
      put(used, key, { jtis: new Set(), replayed: false }, usedTtlSeconds);
      return { outcome: 'redeemed', code };
    },
    async recordToken(apiId, codeHash, jti, ttlSeconds) {
      const mark = live(used, codeKey(apiId, codeHash));
      if (!mark || mark.replayed) return false;
      mark.jtis.add(jti);
      // A later replay revokes for the code's remaining used-mark lifetime; the token's own
      // lifetime is what matters, so keep the mark at least that long.
      const entry = used.get(codeKey(apiId, codeHash));
      if (entry) entry.until = Math.max(entry.until, now() + ttlSeconds * 1000);
      return true;
    },
    async isRevoked(jti) {
      return live(revoked, jti) !== undefined;
    },
    async close() {
      transactions.clear();
      codes.clear();
      used.clear();
      revoked.clear();
    },
  };
}
