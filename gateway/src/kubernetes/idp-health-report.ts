/**
 * The IdP health a gateway publishes in its report Lease (annotation `apiway.net/idp-health`),
 * and how the operator reads it back: compact JSON, one entry per IdpAssociation id, with the
 * fields of the CRD's `status.discovery` plus the issuer the entry is about (so the operator
 * never folds the health of an issuer a spec has since replaced). Pure.
 *
 *   {"platform/acme-b2c":{"issuer":"https://…","healthy":true,"keys":2,"jwksUri":"https://…",
 *    "lastCheckTime":"2026-01-01T00:00:00Z","lastSuccessTime":"2026-01-01T00:00:00Z","message":""}}
 *
 * Bounded: messages are cut to 512 characters, URLs to 2048, and entries (sorted by id) stop
 * before the annotation would pass `maxBytes` (64 KiB by default, a quarter of what Kubernetes
 * allows for all annotations of an object). An IdP left out is simply not reported.
 */

import type { IdpHealth } from '../idp/idp-health.ts';

export interface ReportedIdpHealth {
  issuer: string;
  healthy: boolean;
  keys: number;
  jwksUri?: string;
  /** RFC 3339, second precision. */
  lastCheckTime?: string;
  lastSuccessTime?: string;
  message: string;
}

export const MAX_IDP_HEALTH_BYTES = 64 * 1024;
const MAX_MESSAGE = 512;
const MAX_URL = 2048;

/** The annotation value, or undefined when there is nothing to report. */
export function encodeIdpHealth(
  health: readonly IdpHealth[],
  maxBytes = MAX_IDP_HEALTH_BYTES,
): string | undefined {
  const sorted = [...health].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const parts: string[] = [];
  let bytes = 2; // the braces
  for (const entry of sorted) {
    const reported: ReportedIdpHealth = {
      issuer: entry.issuer.slice(0, MAX_URL),
      healthy: entry.healthy,
      keys: entry.keys,
      ...(entry.jwksUri === undefined ? {} : { jwksUri: entry.jwksUri.slice(0, MAX_URL) }),
      ...(entry.lastCheckTime === undefined
        ? {}
        : { lastCheckTime: secondPrecision(entry.lastCheckTime) }),
      ...(entry.lastSuccessTime === undefined
        ? {}
        : { lastSuccessTime: secondPrecision(entry.lastSuccessTime) }),
      message: entry.message.slice(0, MAX_MESSAGE),
    };
    const part = `${JSON.stringify(entry.id)}:${JSON.stringify(reported)}`;
    const size = Buffer.byteLength(part) + (parts.length > 0 ? 1 : 0);
    if (bytes + size > maxBytes) break;
    parts.push(part);
    bytes += size;
  }
  return parts.length === 0 ? undefined : `{${parts.join(',')}}`;
}

/** By IdpAssociation id; anything malformed (another writer, a newer format) is left out. */
export function decodeIdpHealth(text: string | undefined): Map<string, ReportedIdpHealth> {
  const result = new Map<string, ReportedIdpHealth>();
  if (!text) return result;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return result;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return result;
  for (const [id, value] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = value as Record<string, unknown> | null;
    if (
      entry === null ||
      typeof entry !== 'object' ||
      typeof entry.issuer !== 'string' ||
      typeof entry.healthy !== 'boolean' ||
      typeof entry.keys !== 'number' ||
      !Number.isInteger(entry.keys) ||
      entry.keys < 0 ||
      typeof entry.message !== 'string'
    ) {
      continue;
    }
    // Bounded again: the operator writes these into a status the CRD's schema limits.
    const reported: ReportedIdpHealth = {
      issuer: entry.issuer,
      healthy: entry.healthy,
      keys: entry.keys,
      message: entry.message.slice(0, MAX_MESSAGE),
    };
    if (typeof entry.jwksUri === 'string') reported.jwksUri = entry.jwksUri.slice(0, MAX_URL);
    if (isTime(entry.lastCheckTime)) reported.lastCheckTime = entry.lastCheckTime;
    if (isTime(entry.lastSuccessTime)) reported.lastSuccessTime = entry.lastSuccessTime;
    result.set(id, reported);
  }
  return result;
}

/** metav1.Time has second precision; fewer digits also mean fewer report changes. */
function secondPrecision(time: string): string {
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? time : `${new Date(parsed).toISOString().slice(0, 19)}Z`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isTime(value: unknown): value is string {
  return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}
