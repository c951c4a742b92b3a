/**
 * A test HTTP client over node:http that sends the request target EXACTLY as given (fetch and
 * the URL parser would normalise `..`, `%2e` and friends, which path tests must send raw).
 */

import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';

export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TestRequest {
  method?: string;
  /** Raw request target, e.g. `/api/v1/a/../b?x=1`. */
  path: string;
  headers?: OutgoingHttpHeaders | string[];
  body?: string;
  /** Aborts the request after this many ms (the promise then rejects). */
  abortAfterMs?: number;
}

/** `baseUrl`: `http://127.0.0.1:<port>`. One connection per request (no agent), so nothing lingers. */
export function send(baseUrl: string, options: TestRequest): Promise<TestResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: false,
        ...(options.abortAfterMs === undefined
          ? {}
          : { signal: AbortSignal.timeout(options.abortAfterMs) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
