/**
 * OpenID Connect Discovery 1.0 of an IdpAssociation's issuer: `GET {issuer}/.well-known/openid-configuration`
 * (a trailing `/` of the issuer removed first, as §4 says), then the checks that make the
 * document trustworthy for this issuer:
 * - its `issuer` equals the configured issuer exactly (§4.3): a document naming another issuer
 *   is refused, so a misconfigured or hijacked path cannot substitute its keys;
 * - `jwks_uri` (and the endpoints the login uses) are https, or http on a loopback host only
 *   (the same rule the IdpAssociation CRD applies to the issuer, for tests).
 *
 * Redirects are not followed: the document must be where the issuer says it is.
 * Errors are plain Errors whose message a person can act on (it ends up in the IdpAssociation's
 * status); they never contain a response body.
 */

export const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';

/** What the gateway uses from a discovery document. */
export interface IdpMetadata {
  issuer: string;
  jwksUri: string;
  /** Present when the IdP can sign users in (authorization code flow). */
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** The whole document, as openid-client takes server metadata. */
  document: Readonly<Record<string, unknown>>;
}

export interface DiscoverOptions {
  fetch: typeof fetch;
  /** Default 5 s. */
  timeoutMs?: number;
}

/** Largest discovery document read, in bytes: real ones are a few KiB. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

/** `{issuer without trailing /}/.well-known/openid-configuration`. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}${DISCOVERY_SUFFIX}`;
}

/**
 * The issuer a discovery URL belongs to, without a trailing `/` (undefined when the URL is not a
 * discovery URL). Used to match an `openIdConnect` scheme's `openIdConnectUrl` with an IdP.
 */
export function issuerOfDiscoveryUrl(url: string): string | undefined {
  if (!url.endsWith(DISCOVERY_SUFFIX)) return undefined;
  const issuer = url.slice(0, -DISCOVERY_SUFFIX.length);
  return issuer === '' ? undefined : issuer.replace(/\/+$/, '');
}

/** https anywhere; http only on localhost, 127.0.0.1 or [::1] (tests, local IdPs). */
export function isTrustedIdpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

export async function discoverIdp(issuer: string, options: DiscoverOptions): Promise<IdpMetadata> {
  if (!isTrustedIdpUrl(issuer)) {
    throw new Error('the issuer must be an https URL (http only on a loopback host)');
  }
  const url = discoveryUrl(issuer);
  let response: Response;
  try {
    response = await options.fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (error) {
    throw new Error(`discovery document ${url} could not be fetched: ${describeFetchError(error)}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`discovery document ${url} answered HTTP ${response.status}, not 200`);
  }
  const announced = Number(response.headers.get('content-length') ?? 0);
  if (announced > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel();
    throw new Error(`discovery document ${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  }
  let document: unknown;
  try {
    const text = await response.text();
    if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new Error('too large');
    document = JSON.parse(text);
  } catch {
    throw new Error(`discovery document ${url} is not a JSON object`);
  }
  return metadataOf(issuer, url, document);
}

/** Pure: the checks of a fetched document. */
export function metadataOf(issuer: string, url: string, document: unknown): IdpMetadata {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error(`discovery document ${url} is not a JSON object`);
  }
  const doc = document as Record<string, unknown>;
  if (doc.issuer !== issuer) {
    throw new Error(
      typeof doc.issuer === 'string'
        ? `discovery document ${url} names the issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}: spec.issuer must be exactly the IdP's issuer`
        : `discovery document ${url} has no issuer`,
    );
  }
  const jwksUri = doc.jwks_uri;
  if (typeof jwksUri !== 'string' || !isTrustedIdpUrl(jwksUri)) {
    throw new Error(`discovery document ${url} has no https jwks_uri`);
  }
  const metadata: IdpMetadata = { issuer, jwksUri, document: doc };
  const authorization = doc.authorization_endpoint;
  const token = doc.token_endpoint;
  if (typeof authorization === 'string' && isTrustedIdpUrl(authorization)) {
    metadata.authorizationEndpoint = authorization;
  }
  if (typeof token === 'string' && isTrustedIdpUrl(token)) metadata.tokenEndpoint = token;
  return metadata;
}

/** The error's name or code, never a URL with credentials or a body. */
export function describeFetchError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    // undici's `fetch failed` says nothing: the cause says what (ECONNREFUSED, ENOTFOUND…).
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return typeof code === 'string' ? code : cause.message;
    }
    return error.message;
  }
  return 'unknown error';
}
