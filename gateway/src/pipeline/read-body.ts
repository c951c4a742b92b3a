/**
 * Reads a (small) request body the gateway itself consumes, bounded: a body over `limit` bytes
 * is 413 `payload_too_large`, refused from its Content-Length when it announces one, so the
 * gateway never buffers it; one that only turns out too large while streaming is refused and its
 * request destroyed (nothing more of it is read).
 *
 * Listeners rather than `for await`: a token request's body is one chunk, and the async iterator
 * (an async generator and its promises per chunk) was ~3% of a token request's CPU.
 */

import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) return Promise.reject(tooLarge(limit));
  // Read (or gone) before: its events have been emitted already and would be waited for in vain.
  if (req.readableEnded) return Promise.resolve('');
  if (req.destroyed) {
    return Promise.reject(
      unreadable(new Error('The request was closed before its body was read.')),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        finish();
        req.destroy();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish();
      resolve(
        chunks.length === 1
          ? (chunks[0] as Buffer).toString('utf8')
          : Buffer.concat(chunks).toString('utf8'),
      );
    };
    // The client aborted mid-body: its fault, not the gateway's.
    const onError = (error: Error): void => {
      finish();
      reject(unreadable(error));
    };
    const onClose = (): void => {
      finish();
      reject(unreadable(new Error('The client closed the connection before the body ended.')));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function unreadable(cause: Error): GatewayError {
  return new GatewayError('invalid_request', 'The request body could not be read.', { cause });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `The request body exceeds ${limit} bytes.`);
}
