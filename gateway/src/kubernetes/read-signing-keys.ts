/**
 * The environment's signing keys from its Secret (`keys.json`, a SigningKeySet written by the
 * operator). Checks the shape only; `loadSigningKeys` checks the keys themselves. Pure.
 *
 * Error messages name the Secret and what is wrong, never a value from it.
 */

import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { SigningKeySet } from '../oauth/signing-keys.ts';
import { SIGNING_KEYS_DATA_KEY } from './names.ts';

export type ReadSigningKeysResult =
  | {
      ok: true;
      keys: SigningKeySet /** sha256 of the JSON text: changes whenever the set does. */;
      version: string;
    }
  | { ok: false; message: string };

const STATES = new Set(['next', 'active', 'retired']);
const ALGORITHMS = new Set(['ES256', 'RS256']);

export function readSigningKeys(secret: V1Secret | undefined, name: string): ReadSigningKeysResult {
  const encoded = secret?.data?.[SIGNING_KEYS_DATA_KEY];
  if (encoded === undefined)
    return { ok: false, message: `Secret ${name} has no ${SIGNING_KEYS_DATA_KEY} yet` };
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, message: `Secret ${name}: ${SIGNING_KEYS_DATA_KEY} is not JSON` };
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys))
    return { ok: false, message: `Secret ${name}: ${SIGNING_KEYS_DATA_KEY} has no keys array` };
  for (const key of keys) {
    const k = key as Record<string, unknown> | null;
    if (
      !k ||
      typeof k.kid !== 'string' ||
      !ALGORITHMS.has(k.alg as string) ||
      !STATES.has(k.state as string) ||
      typeof k.privateJwk !== 'object' ||
      k.privateJwk === null
    ) {
      return { ok: false, message: `Secret ${name}: a key lacks kid, alg, state or privateJwk` };
    }
  }
  return {
    ok: true,
    keys: parsed as SigningKeySet,
    version: createHash('sha256').update(text).digest('hex'),
  };
}
