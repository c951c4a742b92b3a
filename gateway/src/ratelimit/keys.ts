/**
 * Counter keys: `apiway:rl:{<consumer>}:<scope>:<periodSeconds>:<target>`, e.g.
 * `apiway:rl:{acme/acme-platform}:a:1:platform/design-api`.
 *
 * - The consumer sits in a hash tag, so every counter of one consumer lives in one Redis Cluster
 *   slot and the script that decides all of a request's rules may touch them together.
 * - The period is part of the key: changing a rule's `requests` keeps its counter, changing its
 *   period starts a new one (the old one expires on its own).
 * - Collision-free by construction: the scope is one letter, the period digits, the target comes
 *   last and takes the rest. A consumer or target longer than 64 characters, or holding anything
 *   but letters, digits and `-._:/`, is replaced by `#` and its SHA-256 (base64url, 132 bits),
 *   which no raw value can equal (raw values never contain `#`). So no brace ever breaks the hash
 *   tag, and e-mail-like IdP subjects stay out of Redis.
 */

import { createHash } from 'node:crypto';
import type { RateLimitRule } from '../snapshot/schema.ts';

export const KEY_PREFIX = 'apiway:rl:';

const SCOPE_LETTER: Record<RateLimitRule['scope'], string> = {
  api: 'a',
  product: 'p',
  subscription: 's',
};

/** Kubernetes-like ids (`namespace/name`, `idp:namespace/name:subject`), at most 64 characters. */
const RAW = /^[A-Za-z0-9._:/-]{1,64}$/;

export function counterKey(consumer: string, rule: RateLimitRule): string {
  return `${KEY_PREFIX}{${keyPart(consumer)}}:${SCOPE_LETTER[rule.scope]}:${rule.periodSeconds}:${keyPart(rule.target)}`;
}

function keyPart(value: string): string {
  if (RAW.test(value)) return value;
  return `#${createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 22)}`;
}
