/**
 * The headers the backend receives, and those the client receives back (after
 * fastify-reply-from's and RFC 9110 §7.6.1's rules for a proxy).
 *
 * Towards the backend, from the client's raw headers (duplicates and order kept):
 * - hop-by-hop headers go: `Connection` and every header it lists, `Keep-Alive`, `TE`,
 *   `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-*`; also `Expect` (answered by the
 *   gateway's own server) and `Host` (the backend's own host is sent, as Kong and nginx do by
 *   default; the client's is in `X-Forwarded-Host`);
 * - the credentials the gateway consumed go: `Authorization: Bearer …` and the Api's API-key
 *   headers (other `Authorization` schemes and cookies are not the gateway's and stay);
 * - every client-supplied `X-Forwarded-*`, `Forwarded`, `X-Request-Id` and `X-Apiway-*` goes,
 *   so a client can never spoof what the gateway asserts;
 * - then the gateway sets `X-Forwarded-For` (the peer address), `X-Forwarded-Proto`,
 *   `X-Forwarded-Host` (the client's `Host`), `X-Forwarded-Prefix` (the Api's basePath),
 *   `X-Request-Id`, and, for an authenticated consumer:
 *   `X-Apiway-Client-Id` (its OAuth client id), `X-Apiway-Subscription` (the Subscription,
 *   `namespace/name`), `X-Apiway-Scopes` (the scopes its credential carries here,
 *   space-separated, possibly empty).
 *
 * Towards the client, from the backend's raw headers: hop-by-hop headers go, and the backend's
 * `X-Request-Id` is replaced by the gateway's.
 */

export const CONSUMER_HEADERS = {
  clientId: 'x-apiway-client-id',
  subscription: 'x-apiway-subscription',
  scopes: 'x-apiway-scopes',
} as const;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export interface ForwardingContext {
  /** Lower-case names of credential headers the gateway consumed (API-key headers). */
  consumedHeaders: ReadonlySet<string>;
  /** True when `Authorization` held a Bearer credential (consumed). */
  consumedAuthorization: boolean;
  forwardedFor: string | undefined;
  forwardedProto: 'http' | 'https';
  forwardedHost: string | undefined;
  forwardedPrefix: string;
  requestId: string;
  consumer?: { clientId: string; subscription: string; scopes: readonly string[] };
}

/** Flat `[name, value, name, value…]` list for undici, from Node's `req.rawHeaders`. */
export function upstreamRequestHeaders(
  rawHeaders: readonly string[],
  ctx: ForwardingContext,
): string[] {
  const listed = connectionListed(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower.startsWith('proxy-')) continue;
    if (lower === 'host' || lower === 'expect') continue;
    if (lower.startsWith('x-forwarded-') || lower === 'forwarded' || lower === 'x-request-id')
      continue;
    if (lower.startsWith('x-apiway-')) continue;
    if (ctx.consumedHeaders.has(lower)) continue;
    if (lower === 'authorization' && ctx.consumedAuthorization) continue;
    out.push(name, rawHeaders[i + 1] as string);
  }
  if (ctx.forwardedFor) out.push('x-forwarded-for', ctx.forwardedFor);
  out.push('x-forwarded-proto', ctx.forwardedProto);
  if (ctx.forwardedHost) out.push('x-forwarded-host', ctx.forwardedHost);
  out.push('x-forwarded-prefix', ctx.forwardedPrefix);
  out.push('x-request-id', ctx.requestId);
  if (ctx.consumer) {
    out.push(CONSUMER_HEADERS.clientId, ctx.consumer.clientId);
    out.push(CONSUMER_HEADERS.subscription, ctx.consumer.subscription);
    out.push(CONSUMER_HEADERS.scopes, ctx.consumer.scopes.join(' '));
  }
  return out;
}

/**
 * Flat `[name, value…]` list for `res.writeHead`, from undici's raw response headers, without
 * hop-by-hop headers, plus `extra` (request id, rate-limit headers), which replace the backend's.
 */
export function clientResponseHeaders(
  rawHeaders: ReadonlyArray<Buffer | string>,
  extra: Readonly<Record<string, string>>,
): string[] {
  const raw = rawHeaders.map((value) =>
    typeof value === 'string' ? value : value.toString('latin1'),
  );
  const listed = connectionListed(raw);
  const extraNames = Object.keys(extra);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (
      HOP_BY_HOP.has(lower) ||
      listed.has(lower) ||
      lower.startsWith('proxy-') ||
      replacedBy(extraNames, lower)
    )
      continue;
    out.push(name, raw[i + 1] as string);
  }
  for (const name of extraNames) out.push(name, extra[name] as string);
  return out;
}

/** Whether one of the gateway's own header names (a handful) is `lower`, case-insensitively. */
function replacedBy(names: readonly string[], lower: string): boolean {
  for (const name of names) {
    if (name.length === lower.length && name.toLowerCase() === lower) return true;
  }
  return false;
}

const NONE_LISTED: ReadonlySet<string> = new Set();

/**
 * Header names listed in `Connection` (RFC 9110 §7.6.1): hop-by-hop for this connection only.
 * Nearly every message has none (HTTP/1.1 keep-alive needs no header): nothing is allocated then.
 */
function connectionListed(raw: readonly string[]): ReadonlySet<string> {
  let listed: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const listedName = token.trim().toLowerCase();
      if (!listedName) continue;
      listed ??= new Set();
      listed.add(listedName);
    }
  }
  return listed ?? NONE_LISTED;
}
