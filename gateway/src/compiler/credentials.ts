/**
 * Credential values → what the snapshot may carry: SHA-256 hashes of the values still valid at
 * `now`. And the reading of an `existingSecret` (keys `client_id`, `client_secret`, `api_key`,
 * `api_key_secondary`, base64 in `data` or plain in `stringData`).
 *
 * Nothing here logs or returns a plaintext in a message: problems name keys, never values.
 */

import { createHash } from 'node:crypto';
import type { SecretResource } from '../resources/types.ts';
import type { HashedSecret } from '../snapshot/schema.ts';
import type { IssuedSecret } from './types.ts';

export const SECRET_KEYS = {
  clientId: 'client_id',
  clientSecret: 'client_secret',
  apiKey: 'api_key',
  apiKeySecondary: 'api_key_secondary',
} as const;

/**
 * A value a user put in an `existingSecret` is stored as a fast hash in a snapshot that every
 * gateway reads: a shorter one could be found by brute force, so its status says so.
 */
export const MIN_SECRET_LENGTH = 16;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface SecretCredentials {
  clientId?: string;
  clientSecret?: string;
  apiKey?: string;
  apiKeySecondary?: string;
}

/**
 * The credential values of a Secret. `stringData` wins over `data` for one key (as the API
 * server merges them); empty values count as absent; values are used exactly (no trimming: a
 * trailing newline from `echo | base64` is part of the value). `invalidKeys` names the keys
 * whose `data` is not base64; nothing here ever names a value.
 */
export function credentialsFromSecret(secret: SecretResource): {
  values: SecretCredentials;
  invalidKeys: string[];
} {
  const values: SecretCredentials = {};
  const invalidKeys: string[] = [];
  for (const [field, key] of Object.entries(SECRET_KEYS) as Array<
    [keyof SecretCredentials, string]
  >) {
    const plain = secret.stringData?.[key];
    if (typeof plain === 'string') {
      if (plain !== '') values[field] = plain;
      continue;
    }
    const encoded = secret.data?.[key];
    if (typeof encoded !== 'string' || encoded === '') continue;
    if (!BASE64.test(encoded)) {
      invalidKeys.push(key);
      continue;
    }
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    if (decoded !== '') values[field] = decoded;
  }
  return { values, invalidKeys };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Hashes of the values still valid at `now`, in the given order, without repeats. A value is
 * valid until its `expiresAt` (excluded, as the issuer counts it); one whose expiry cannot be
 * read is dropped: an unreadable date must not keep a rotated-out credential alive.
 */
export function hashLiveSecrets(secrets: readonly IssuedSecret[], now: Date): HashedSecret[] {
  const hashed: HashedSecret[] = [];
  const seen = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret.value !== 'string' || secret.value === '') continue;
    if (secret.expiresAt !== undefined) {
      const expiresAt = Date.parse(secret.expiresAt);
      if (Number.isNaN(expiresAt) || expiresAt <= now.getTime()) continue;
    }
    const sha256 = sha256Hex(secret.value);
    if (seen.has(sha256)) continue;
    seen.add(sha256);
    hashed.push(
      secret.expiresAt === undefined ? { sha256 } : { sha256, expiresAt: secret.expiresAt },
    );
  }
  return hashed;
}
