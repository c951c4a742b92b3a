/**
 * Reads a (small) request body the gateway itself consumes, bounded: a body over `limit` bytes
 * is 413 `payload_too_large`, refused from its Content-Length when it announces one, so the
 * gateway never buffers it.
 */

import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const announced = Number(req.headers['content-length'] ?? 0);
  if (announced > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    // The client aborted mid-body: its fault, not the gateway's.
    throw new GatewayError('invalid_request', 'The request body could not be read.', {
      cause: error,
    });
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', `The request body exceeds ${limit} bytes.`);
}
