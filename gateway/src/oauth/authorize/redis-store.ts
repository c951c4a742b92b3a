/**
 * The authorization store shared by every replica of an environment, on the gateway's Redis
 * (the rate limiter's client may be reused: it fails fast while disconnected). Keys:
 *
 *   apiway:authz:<env>:tx:<transaction id>            JSON, EX ~10 min
 *   apiway:authz:<env>:code:{<api id>|<sha256(code)>}  JSON, EX ~60 s
 *   apiway:authz:<env>:used:{<api id>|<sha256(code)>}  SET of minted jtis (+ markers), EX token TTL
 *   apiway:authz:<env>:revoked:<jti>                   "1", EX token TTL
 *
 * A code and its used mark share a hash tag (one Redis Cluster slot), so one Lua script checks
 * the mark, takes the code and sets the mark atomically: two replicas redeeming the same code
 * at once cannot both succeed. Revocations are per token id, in any slot, written after the
 * replay script returned the ids; a token recorded after the replay is refused by the record
 * script itself, so none slips through between the two.
 */

import type { Cluster, Redis } from 'ioredis';
import type {
  AuthorizationCode,
  AuthorizationStore,
  AuthorizationTransaction,
  CodeRedemption,
} from './store.ts';

const REDEEM_COMMAND = 'apiwayRedeemAuthorizationCode';
const RECORD_COMMAND = 'apiwayRecordCodeToken';

/** Members of a used mark besides token ids (which are UUIDs: no collision). */
const USED = '.';
const REPLAYED = '!replayed';

/** KEYS: code, used mark. ARGV: used-mark TTL (s). */
const REDEEM_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SADD', KEYS[2], '${REPLAYED}')
  return {'replayed', redis.call('SMEMBERS', KEYS[2])}
end
local code = redis.call('GET', KEYS[1])
if not code then return {'unknown'} end
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[2], '${USED}')
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {'redeemed', code}
`;

/** KEYS: used mark. ARGV: jti, token TTL (s). */
const RECORD_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[1], '${REPLAYED}') == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

type Scripts = Record<
  typeof REDEEM_COMMAND | typeof RECORD_COMMAND,
  (numberOfKeys: number, ...keysAndArguments: (string | number)[]) => Promise<unknown>
>;

export interface RedisAuthorizationStoreOptions {
  /** Not closed by the store. */
  redis: Redis | Cluster;
  /** Keys are per environment, so environments may share one Redis. */
  environment: string;
  /** How long a revocation check waits before answering "not revoked" anyway. Default 100 ms. */
  revocationCheckTimeoutMs?: number;
}

export function createRedisAuthorizationStore(
  options: RedisAuthorizationStoreOptions,
): AuthorizationStore {
  const { redis } = options;
  const prefix = `apiway:authz:${options.environment}:`;
  const checkTimeoutMs = options.revocationCheckTimeoutMs ?? 100;
  redis.defineCommand(REDEEM_COMMAND, { lua: REDEEM_LUA });
  redis.defineCommand(RECORD_COMMAND, { lua: RECORD_LUA });
  const scripts = redis as unknown as Scripts;

  const txKey = (id: string) => `${prefix}tx:${id}`;
  const codeKey = (apiId: string, hash: string) => `${prefix}code:{${apiId}|${hash}}`;
  const usedKey = (apiId: string, hash: string) => `${prefix}used:{${apiId}|${hash}}`;
  const revokedKey = (jti: string) => `${prefix}revoked:${jti}`;

  return {
    async saveTransaction(transaction, ttlSeconds) {
      await redis.set(
        txKey(transaction.id),
        JSON.stringify(transaction),
        'EX',
        seconds(ttlSeconds),
      );
    },
    async loadTransaction(id) {
      return parse<AuthorizationTransaction>(await redis.get(txKey(id)));
    },
    async takeTransaction(id) {
      return parse<AuthorizationTransaction>(await redis.getdel(txKey(id)));
    },
    async saveCode(codeHash, code, ttlSeconds) {
      await redis.set(
        codeKey(code.apiId, codeHash),
        JSON.stringify(code),
        'EX',
        seconds(ttlSeconds),
      );
    },
    async redeemCode(apiId, codeHash, usedTtlSeconds): Promise<CodeRedemption> {
      const ttl = seconds(usedTtlSeconds);
      const reply = (await scripts[REDEEM_COMMAND](
        2,
        codeKey(apiId, codeHash),
        usedKey(apiId, codeHash),
        ttl,
      )) as [string, unknown?];
      if (reply[0] === 'redeemed') {
        const code = parse<AuthorizationCode>(reply[1] as string);
        return code ? { outcome: 'redeemed', code } : { outcome: 'unknown' };
      }
      if (reply[0] === 'replayed') {
        const jtis = (reply[1] as string[]).filter((m) => m !== USED && m !== REPLAYED);
        await Promise.all(jtis.map((jti) => redis.set(revokedKey(jti), '1', 'EX', ttl)));
        return { outcome: 'replayed' };
      }
      return { outcome: 'unknown' };
    },
    async recordToken(apiId, codeHash, jti, ttlSeconds) {
      const reply = await scripts[RECORD_COMMAND](
        1,
        usedKey(apiId, codeHash),
        jti,
        seconds(ttlSeconds),
      );
      return reply === 1;
    },
    async isRevoked(jti) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('revocation check timed out')), checkTimeoutMs);
      });
      try {
        return (await Promise.race([redis.exists(revokedKey(jti)), timeout])) === 1;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {},
  };
}

/** Redis wants whole seconds, at least 1. */
function seconds(value: number): number {
  return Math.max(1, Math.ceil(value));
}

function parse<T>(json: string | null | undefined): T | undefined {
  if (typeof json !== 'string') return undefined;
  return JSON.parse(json) as T;
}
