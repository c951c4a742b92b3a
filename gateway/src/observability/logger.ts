/**
 * The gateway's pino logger. `main.ts` creates it once (with the destination it chooses) and
 * hands it to `createGateway`, which derives one child per request carrying its request id.
 *
 * Secrets never reach a log line, by two independent means:
 * - what we log about a request is an allowlist (`serializeRequest`: method, path without its
 *   query string, since a query may hold an API key; remote address), never its headers;
 * - exact redaction paths still censor the credential-bearing headers should anyone log a
 *   request or response object with its headers (`authorization`, `proxy-authorization`,
 *   `cookie`, `set-cookie`, `x-api-key` and every configured API-key header name).
 */

import type { IncomingMessage } from 'node:http';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export interface LoggerOptions {
  /** Default `info`. */
  level?: Level | 'silent';
  /** Default: stdout. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** API-key header names besides `x-api-key` (e.g. every apiKey scheme's header the snapshots declare). */
  apiKeyHeaders?: readonly string[];
  /** Bound to every line, e.g. `{ environment: 'alpha' }`. */
  base?: Record<string, unknown>;
}

const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

/** The exact pino redaction paths for these API-key header names (and the fixed credential headers). */
export function redactPaths(apiKeyHeaders: readonly string[] = []): string[] {
  const names = new Set([
    ...CREDENTIAL_HEADERS,
    ...apiKeyHeaders.map((name) => name.toLowerCase()),
  ]);
  const paths: string[] = [];
  for (const name of [...names].sort()) paths.push(`req.headers[${JSON.stringify(name)}]`);
  paths.push('res.headers["set-cookie"]');
  return paths;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      redact: { paths: redactPaths(options.apiKeyHeaders), censor: '[redacted]' },
      serializers: { req: serializeRequest, err: pino.stdSerializers.err },
    },
    options.destination ?? bufferedStdout(),
  );
}

/**
 * Standard output, one `write(2)` per turn of the event loop instead of one per line: under load
 * the access log's line per request was a system call per request, about a tenth of the
 * gateway's CPU. Lines logged during a turn are joined and handed to pino's synchronous writer
 * (sonic-boom, which deals with full pipes) once that turn's callbacks have run (`setImmediate`),
 * so a line is never held longer than the turn that logged it, idle or not, and nothing is lost
 * to a crash that a per-line write would have saved but the lines of that very turn, which
 * the `exit` handler still writes (a SIGKILL aside).
 */
function bufferedStdout(): DestinationStream {
  return coalescePerTurn(pino.destination({ dest: 1, sync: true }));
}

/** What pino needs of a destination; `flush` is what `logger.flush()` calls. */
interface FlushableDestination extends DestinationStream {
  flush(callback?: (error?: Error) => void): void;
}

export function coalescePerTurn(inner: { write(text: string): unknown }): FlushableDestination {
  let pending = '';
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    inner.write(text);
  };
  process.on('exit', drain);
  return {
    write(line: string) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    flush(callback) {
      drain();
      callback?.();
    },
  };
}

/** What a log line says about a request: never its headers, never its query string. */
export function serializeRequest(req: IncomingMessage): {
  method?: string;
  path: string;
  remoteAddress?: string;
} {
  return {
    method: req.method,
    path: pathWithoutQuery(req.url ?? ''),
    remoteAddress: req.socket?.remoteAddress,
  };
}

/** The request target up to (excluding) `?`: the query may carry an API key. */
export function pathWithoutQuery(target: string): string {
  const question = target.indexOf('?');
  return question === -1 ? target : target.slice(0, question);
}
