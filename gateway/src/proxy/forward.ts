/**
 * Step 6: stream the request to the backend and its response back, with backpressure both ways
 * (undici reads the client's body as the backend accepts it; `pipeline` writes the response as
 * the client reads it).
 *
 * - Deadline: `timeoutMs` covers connecting, sending and waiting for the response headers; then
 *   the body may take as long as it needs, as long as no gap between chunks exceeds `timeoutMs`
 *   (undici's `bodyTimeout`), so a long download is not cut while a stalled one is.
 * - A client that goes away aborts the backend request (and frees its connection).
 * - Before the response started, a failure becomes a GatewayError (502/504, see
 *   upstream-errors.ts) for the caller to answer; after it started, the only honest signal left
 *   is to cut the connection, which `pipeline` does.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { clientResponseHeaders } from './forward-headers.ts';
import { timeout, type UpstreamFailure, upstreamFailure } from './upstream-errors.ts';

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  dispatcher: Dispatcher;
  method: string;
  /** Path and query for the backend (upstream-url.ts). */
  path: string;
  /** Flat header list (forward-headers.ts). */
  headers: string[];
  timeoutMs: number;
  /** Headers the gateway adds to the response (request id, rate-limit headers). */
  responseHeaders: Record<string, string>;
}

export type ForwardResult =
  /**
   * The backend answered. `cut`: the body did not complete, because the client went away
   * (`client-gone`) or the backend failed mid-body (its bounded error code).
   */
  | { outcome: 'response'; status: number; cut?: string }
  /** The client went away before the backend answered: nothing can be sent. */
  | { outcome: 'client-gone' }
  /** Nothing was sent yet: the caller answers with `failure.error`. */
  | { outcome: 'failed'; failure: UpstreamFailure };

export async function forwardToBackend(request: ForwardRequest): Promise<ForwardResult> {
  const { req, res } = request;
  // Gone while the earlier steps ran: no backend request for nobody.
  if (req.socket.destroyed) return { outcome: 'client-gone' };
  const abort = new AbortController();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, request.timeoutMs);
  let clientGone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    clientGone = true;
    abort.abort();
  };
  res.once('close', onClose);

  try {
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await request.dispatcher.request({
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: hasBody(req) ? req : null,
        signal: abort.signal,
        responseHeaders: 'raw',
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
    } catch (error) {
      if (timedOut) {
        return { outcome: 'failed', failure: { code: 'timeout', error: timeout() } };
      }
      if (clientGone) return { outcome: 'client-gone' };
      return { outcome: 'failed', failure: upstreamFailure(error) };
    } finally {
      clearTimeout(deadline);
    }

    // `responseHeaders: 'raw'` makes undici return the flat raw list (its types do not say so).
    const rawHeaders = upstream.headers as unknown as Array<Buffer | string>;
    try {
      res.writeHead(
        upstream.statusCode,
        clientResponseHeaders(rawHeaders, request.responseHeaders),
      );
    } catch (error) {
      // A header Node refuses to send (invalid characters): the response is unusable.
      upstream.body.destroy();
      return { outcome: 'failed', failure: upstreamFailure(error) };
    }
    // Whichever fails first is the cause: a backend error destroys the client response too
    // (and so looks like a client close), a client close aborts the backend body.
    let backendFailed = false;
    upstream.body.once('error', () => {
      if (!clientGone) backendFailed = true;
    });
    try {
      await pipeline(upstream.body, res);
      return { outcome: 'response', status: upstream.statusCode };
    } catch (error) {
      const cut = backendFailed ? upstreamFailure(error).code : 'client-gone';
      return { outcome: 'response', status: upstream.statusCode, cut };
    }
  } finally {
    res.off('close', onClose);
  }
}

/** A request has a body when it says so (RFC 9112 §6.3): Transfer-Encoding, or a non-zero Content-Length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}
