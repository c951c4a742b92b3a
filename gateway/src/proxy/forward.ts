/**
 * Step 6: stream the request to the backend and its response back, with backpressure both ways
 * (undici reads the client's body as the backend accepts it; the backend's body is paused while
 * the client's socket is full and resumed on `drain`).
 *
 * It drives undici's `dispatch()` with a handler of its own, writing straight into `res`: the
 * least a proxy can do per request (what `dispatcher.stream()` does, without its async-resource
 * bookkeeping). No `stream/promises` `pipeline()`, which aborts an internal AbortController on
 * every request (building a DOMException with its stack), and no AbortController either: the
 * handler's controller aborts the backend request.
 *
 * - Deadline: `timeoutMs` covers connecting, sending and waiting for the response headers (one
 *   native timer, precise to the millisecond, unlike undici's coarse `headersTimeout`, kept as a
 *   backstop); then the body may take as long as it needs, as long as no gap between chunks
 *   exceeds `timeoutMs` (undici's `bodyTimeout`), so a long download is not cut while a stalled
 *   one is.
 * - A client that goes away aborts the backend request (and frees its connection).
 * - Before the response started, a failure becomes a GatewayError (502/504, see
 *   upstream-errors.ts) for the caller to answer; after it started, the only honest signal left
 *   is to cut the connection, which this does.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
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

export function forwardToBackend(request: ForwardRequest): Promise<ForwardResult> {
  const { req, res } = request;
  // Gone while the earlier steps ran: no backend request for nobody.
  if (req.socket.destroyed) return Promise.resolve({ outcome: 'client-gone' });
  return new Promise<ForwardResult>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    /** The backend's status once its response started towards the client. */
    let status: number | undefined;

    const settle = (result: ForwardResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      res.off('close', onClose);
      res.off('drain', onDrain);
      resolve(result);
    };
    const onDrain = (): void => controller?.resume();
    const onClose = (): void => {
      if (res.writableFinished) return;
      settle(
        status === undefined
          ? { outcome: 'client-gone' }
          : { outcome: 'response', status, cut: 'client-gone' },
      );
      // Not on the wire yet (connecting, or queued in the pool): `onRequestStart` aborts it.
      controller?.abort(clientGone());
    };
    const deadline = setTimeout(() => {
      settle({ outcome: 'failed', failure: { code: 'timeout', error: timeout() } });
      controller?.abort(timeout());
    }, request.timeoutMs);
    const onFinish = (): void => {
      if (status !== undefined) settle({ outcome: 'response', status });
    };
    res.on('close', onClose);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        // Given up on while connecting (client gone, deadline): never sent.
        if (settled) started.abort(clientGone());
      },
      onResponseStart(started, statusCode) {
        // 1xx informational responses are the backend's business: the final one is forwarded.
        if (statusCode < 200 || settled) return;
        // undici keeps the raw list (names as the backend sent them, repeats in order) here.
        const rawHeaders = (started.rawHeaders ?? []) as Array<Buffer | string>;
        try {
          res.writeHead(statusCode, clientResponseHeaders(rawHeaders, request.responseHeaders));
        } catch (error) {
          // A header Node refuses to send (invalid characters): the response is unusable.
          settle({ outcome: 'failed', failure: upstreamFailure(error) });
          started.abort(error as Error);
          return;
        }
        status = statusCode;
        clearTimeout(deadline);
        res.on('drain', onDrain);
      },
      onResponseData(started, chunk) {
        if (settled) return;
        if (!res.write(chunk)) started.pause();
      },
      onResponseEnd() {
        if (settled) return;
        // Settled once the last byte was handed to the client's socket (`finish`); a client
        // that goes away before that is seen by `onClose`.
        res.end(onFinish);
      },
      onResponseError(_controller, error) {
        if (settled) return;
        if (status === undefined) {
          settle({ outcome: 'failed', failure: upstreamFailure(error) });
          return;
        }
        // The backend failed mid-body: the client sees a cut connection, never a short body
        // passed off as complete.
        const { code } = upstreamFailure(error);
        settle({ outcome: 'response', status, cut: code });
        res.destroy();
      },
    };

    request.dispatcher.dispatch(
      {
        method: request.method,
        path: request.path,
        headers: request.headers,
        body: hasBody(req) ? req : null,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      },
      handler,
    );
  });
}

/** Why a backend request is aborted when its client went away (logged nowhere: the outcome says it). */
function clientGone(): Error {
  return new Error('The client went away.');
}

/** A request has a body when it says so (RFC 9112 §6.3): Transfer-Encoding, or a non-zero Content-Length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}
