/**
 * Issuing a Subscription's credentials: a pure function of the Subscription, what was issued
 * before and the clock, with randomness injected. The standalone gateway keeps the result in
 * its state dir; the operator keeps it in the Subscription's Secret. Neither does I/O here.
 *
 * Credentials never change on their own: a value is generated only when it is missing, and
 * replaced only when the Subscription raises its rotation counter (a spec change that works
 * from Git). A rotated-out value stays valid for the grace period the Subscription sets.
 */

import type { IssuedCredentials } from '../compiler/types.ts';
import type { SubscriptionResource } from '../resources/types.ts';

/** 32 bytes: 256 bits of entropy per secret, so a fast hash (SHA-256) is enough at rest. */
const SECRET_BYTES = 32;
const DEFAULT_GRACE_PERIOD_SECONDS = 86_400;

/**
 * Recognisable prefixes so secret scanners (GitHub push protection, gitleaks, trufflehog) can
 * find a leaked value with a simple pattern: `apw_cs_` + 43 base64url characters for a client
 * secret, `apw_ak_` + 43 for an API key.
 */
export const CLIENT_SECRET_PREFIX = 'apw_cs_';
export const API_KEY_PREFIX = 'apw_ak_';

export type CredentialName = 'clientId' | 'clientSecret' | 'apiKey' | 'apiKeySecondary' | 'tokens';

/** One secret value and its rotated-out predecessors. */
export interface RotatingSecret {
  value: string;
  /** The rotation counter this value answers (`spec.credentials.rotation.*`, 0 before any rotation). */
  rotation: number;
  /** RFC 3339. */
  issuedAt: string;
  /** Rotated-out values, newest first, each valid until its `expiresAt` (RFC 3339). */
  previous: Array<{ value: string; expiresAt: string }>;
}

/** Everything issued for one Subscription, as persisted (plaintext: keep it out of logs). */
export interface StoredCredentials {
  clientId: string;
  /** Absent when the Subscription needs no secret (no client credentials, public code client). */
  clientSecret?: RotatingSecret;
  /** Absent when `credentials.apiKey` is false. */
  apiKey?: RotatingSecret;
  apiKeySecondary?: RotatingSecret;
  /** Whether the Subscription was suspended when this was last brought up to date. */
  suspended?: boolean;
  /**
   * RFC 3339: access tokens issued before this are refused. Set when a suspension is lifted, so
   * that resuming a Subscription brings back its keys but never the tokens it was revoked with.
   */
  tokensNotBefore?: string;
}

export interface CredentialChange {
  credential: CredentialName;
  /**
   * `issued`: a first value; `rotated`: a new value replaced one (kept for the grace period);
   * `removed`: no longer enabled; `expired`: a rotated-out value's grace period ended;
   * `suspended` / `resumed` (credential `tokens`): tokens minted before a resume stay revoked.
   */
  action: 'issued' | 'rotated' | 'removed' | 'expired' | 'suspended' | 'resumed';
  /** For `rotated`: when the previous value stops working (RFC 3339). */
  previousValidUntil?: string;
}

export interface IssueResult {
  credentials: StoredCredentials;
  /** Empty when nothing changed (the caller can skip persisting). */
  changes: CredentialChange[];
}

/** Returns `bytes` cryptographically random bytes (`crypto.randomBytes` in production). */
export type RandomBytes = (bytes: number) => Buffer;

/**
 * Brings `previous` up to date with `subscription`: issues what is missing, rotates what its
 * counters ask for, drops what it no longer enables and rotated-out values past their grace
 * period. Never replaces a value otherwise, so calling it on every reload is safe.
 */
export function issueCredentials(
  subscription: SubscriptionResource,
  previous: StoredCredentials | undefined,
  now: Date,
  random: RandomBytes,
): IssueResult {
  const { namespace, name } = subscription.metadata;
  const spec = subscription.spec.credentials ?? {};
  const rotation = spec.rotation ?? {};
  const graceSeconds = rotation.gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
  const changes: CredentialChange[] = [];

  let clientId = previous?.clientId;
  if (clientId === undefined) {
    // Readable for people reading logs and dashboards, plus a random suffix so a Subscription
    // deleted and created again never gets back the client id its revoked tokens carry.
    clientId = `${namespace}.${name}.${random(4).toString('hex')}`;
    changes.push({ credential: 'clientId', action: 'issued' });
  }
  const credentials: StoredCredentials = { clientId };
  // Suspension revokes every token minted so far, for good: lifting it moves the tokens'
  // not-before to now (a suspended credential mints none, so nothing newer is lost).
  const suspended = subscription.spec.suspended === true;
  if (suspended) credentials.suspended = true;
  if (previous?.tokensNotBefore !== undefined)
    credentials.tokensNotBefore = previous.tokensNotBefore;
  if (previous !== undefined && (previous.suspended === true) !== suspended) {
    if (!suspended) credentials.tokensNotBefore = now.toISOString();
    changes.push({ credential: 'tokens', action: suspended ? 'suspended' : 'resumed' });
  }

  const clientCredentials = spec.clientCredentials ?? true;
  const confidentialCodeClient =
    spec.authorizationCode !== undefined && spec.authorizationCode.public !== true;
  const apiKeys = spec.apiKey ?? true;

  const wanted: Array<[Exclude<CredentialName, 'clientId' | 'tokens'>, boolean, string, number]> = [
    [
      'clientSecret',
      clientCredentials || confidentialCodeClient,
      CLIENT_SECRET_PREFIX,
      rotation.clientSecret ?? 0,
    ],
    ['apiKey', apiKeys, API_KEY_PREFIX, rotation.apiKey ?? 0],
    ['apiKeySecondary', apiKeys, API_KEY_PREFIX, rotation.apiKeySecondary ?? 0],
  ];
  for (const [credential, enabled, prefix, counter] of wanted) {
    const before = previous?.[credential];
    if (!enabled) {
      // Disabling a credential revokes it: enabling it again later issues a fresh value.
      if (before) changes.push({ credential, action: 'removed' });
      continue;
    }
    const next = () => `${prefix}${random(SECRET_BYTES).toString('base64url')}`;
    if (!before) {
      credentials[credential] = {
        value: next(),
        rotation: counter,
        issuedAt: now.toISOString(),
        previous: [],
      };
      changes.push({ credential, action: 'issued' });
      continue;
    }
    const stillValid = before.previous.filter((old) => Date.parse(old.expiresAt) > now.getTime());
    // Only a counter raised above the stored one rotates: lowering it, or a restart, does nothing.
    if (counter > before.rotation) {
      const expiresAt = new Date(now.getTime() + graceSeconds * 1000).toISOString();
      credentials[credential] = {
        value: next(),
        rotation: counter,
        issuedAt: now.toISOString(),
        previous: [{ value: before.value, expiresAt }, ...stillValid],
      };
      changes.push({ credential, action: 'rotated', previousValidUntil: expiresAt });
      continue;
    }
    credentials[credential] = { ...before, previous: stillValid };
    // Reported so the caller persists it: an expired plaintext must not linger in the state.
    if (stillValid.length !== before.previous.length)
      changes.push({ credential, action: 'expired' });
  }
  return { credentials, changes };
}

/** The compiler's view: current values first, then rotated-out ones still in their grace period. */
export function toIssuedCredentials(stored: StoredCredentials, now: Date): IssuedCredentials {
  const valid = (secret: RotatingSecret | undefined) =>
    secret
      ? [
          { value: secret.value },
          ...secret.previous
            .filter((old) => Date.parse(old.expiresAt) > now.getTime())
            .map((old) => ({ value: old.value, expiresAt: old.expiresAt })),
        ]
      : [];
  const primary = valid(stored.apiKey);
  const secondary = valid(stored.apiKeySecondary);
  return {
    clientId: stored.clientId,
    ...(stored.tokensNotBefore !== undefined ? { tokensNotBefore: stored.tokensNotBefore } : {}),
    clientSecrets: valid(stored.clientSecret),
    // Primary, then secondary, then every rotated-out key (the compiler's documented order).
    apiKeys: [
      ...primary.slice(0, 1),
      ...secondary.slice(0, 1),
      ...primary.slice(1),
      ...secondary.slice(1),
    ],
  };
}
