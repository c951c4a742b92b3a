/**
 * Binding a sign-in in progress to the browser that started it: a random secret in a cookie,
 * its SHA-256 in the transaction. Without it, anyone holding a transaction id (it travels to the
 * IdP as `state`) could finish someone else's sign-in, or make a victim's browser finish theirs
 * (login CSRF).
 *
 * One cookie per transaction (its name carries part of the id), so two tabs signing in at once
 * do not overwrite each other's. `HttpOnly`; `SameSite=Lax`, so it travels on the IdP's
 * top-level redirect back to the callback but on no cross-site POST; `Secure` (and the
 * `__Secure-` prefix) when the gateway's public URL is https; `Path` limited to the Api's
 * authorization endpoint; deleted once the transaction ends.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface BrowserBinding {
  /** The cookie's value: never stored, never logged. */
  secret: string;
  /** SHA-256 (hex) of the secret: what the transaction keeps. */
  hash: string;
}

export function newBrowserBinding(): BrowserBinding {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashOf(secret) };
}

export function bindingCookieName(transactionId: string, secure: boolean): string {
  return `${secure ? '__Secure-' : ''}apiway-authz-${transactionId.slice(0, 16)}`;
}

export function bindingCookie(
  name: string,
  value: string,
  options: { path: string; secure: boolean; maxAgeSeconds: number },
): string {
  const attributes = [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (options.secure) attributes.push('Secure');
  return attributes.join('; ');
}

/**
 * True when the request's `Cookie` header holds a cookie `name` whose value hashes to `hash`.
 * Reads only cookies of that name, and only well-formed values; compares in constant time.
 */
export function presentsBinding(
  cookieHeader: string | undefined,
  name: string,
  hash: string,
): boolean {
  if (cookieHeader === undefined) return false;
  const expected = Buffer.from(hash, 'hex');
  let found = false;
  for (const pair of cookieHeader.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== name) continue;
    const value = pair.slice(equals + 1).trim();
    if (!VALUE.test(value)) continue;
    const presented = Buffer.from(hashOf(value), 'hex');
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) found = true;
  }
  return found;
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
