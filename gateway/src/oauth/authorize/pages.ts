/**
 * The two pages the authorization endpoint shows a person: the consent page and the error page
 * (for errors that must not be redirected). Plain server-rendered HTML, no script; every value
 * is escaped. Their headers forbid framing (`X-Frame-Options: DENY` and CSP
 * `frame-ancestors 'none'`: no clickjacking of the Approve button), caching and referrers, and
 * limit where the consent form may submit (itself, and the client's redirect URI it redirects to
 * after the POST, which browsers check against `form-action` too).
 */

import { createHash } from 'node:crypto';

export interface HtmlPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'h1{font-size:1.4rem}code{background:#f2f2f2;padding:0 .2rem}' +
  'ul{padding-left:1.2rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}' +
  '.muted{color:#666;font-size:.9rem}';

export interface ConsentPageInput {
  apiName: string;
  clientName: string;
  subject: string;
  scopes: readonly string[];
  /** Where the form posts (same origin). */
  action: string;
  transactionId: string;
  csrfToken: string;
  /** The client's redirect URI: the form's POST redirects there. */
  redirectUri: string;
}

export function consentPage(input: ConsentPageInput): HtmlPage {
  const scopes =
    input.scopes.length === 0
      ? '<p>No scopes: only operations that require none.</p>'
      : `<ul>${input.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>`;
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Authorize ${escapeHtml(input.clientName)}</title><style>${STYLE}</style></head>
<body>
<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks to use <strong>${escapeHtml(input.apiName)}</strong> on your behalf, with these scopes:</p>
${scopes}
<p class="muted">Signed in as ${escapeHtml(input.subject)}. You will be sent back to ${escapeHtml(originOf(input.redirectUri))}.</p>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="transaction" value="${escapeHtml(input.transactionId)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(input.csrfToken)}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
`;
  return { status: 200, headers: pageHeaders(formTarget(input.redirectUri)), body };
}

export function errorPage(status: number, error: string, description: string): HtmlPage {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Authorization failed</title><style>${STYLE}</style></head>
<body>
<h1>Authorization failed</h1>
<p>${escapeHtml(description)}</p>
<p class="muted">Error: <code>${escapeHtml(error)}</code>. Go back to the application and try again; if it keeps failing, tell its developers.</p>
</body></html>
`;
  return { status, headers: pageHeaders(undefined), body };
}

function pageHeaders(formTargetSource: string | undefined): Record<string, string> {
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const formAction = formTargetSource === undefined ? "'self'" : `'self' ${formTargetSource}`;
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; style-src 'sha256-${styleHash}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    // Not `no-referrer`: browsers then send `Origin: null` with the form's POST, and the
    // decision checks that its Origin is the gateway's. `same-origin` still tells others nothing.
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
  };
}

/** The CSP source of a redirect URI: its origin (http/https), or its scheme (`com.example.app:`). */
function formTarget(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

function originOf(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : `${url.protocol}//`;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
