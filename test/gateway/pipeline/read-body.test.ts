/**
 * The bounded body reader on a real node:http server: what a token request's body goes through.
 */

import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayError } from '../../../gateway/src/errors.ts';
import { readBody } from '../../../gateway/src/pipeline/read-body.ts';

const LIMIT = 1024;
let server: Server;
let port: number;
/** What readBody made of each request, by the request's path. */
const outcomes = new Map<string, Promise<{ body?: string; code?: string }>>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const read = async (incoming: IncomingMessage) => {
      // `/twice`: a second read of a body already read gives nothing, and does not hang.
      const first = await readBody(incoming, LIMIT);
      return incoming.url === '/twice' ? readBody(incoming, LIMIT) : first;
    };
    const outcome = read(req).then(
      (body) => ({ body }),
      (error: GatewayError) => ({ code: error.code }),
    );
    outcomes.set(req.url ?? '', outcome);
    void outcome.then((result) => {
      if (!res.destroyed) res.end(JSON.stringify(result));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

/** Sends `chunks` without a Content-Length (chunked), pausing between them; resolves with the status or the socket error. */
function sendChunked(
  path: string,
  chunks: Array<string | Buffer>,
  abortAfter?: number,
): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    let sent = 0;
    const next = () => {
      if (abortAfter !== undefined && sent === abortAfter) {
        req.destroy();
        return;
      }
      const chunk = chunks[sent++];
      if (chunk === undefined) {
        req.end();
        return;
      }
      req.write(chunk);
      setTimeout(next, 10);
    };
    next();
  });
}

describe('readBody', () => {
  it('reads a body sent in several chunks, decoding UTF-8 split across them', async () => {
    const euro = Buffer.from('€', 'utf8');
    const reply = await sendChunked('/chunks', [
      'note=',
      euro.subarray(0, 1),
      euro.subarray(1),
      '&grant_type=client_credentials',
    ]);
    expect(reply).toBe('200 {"body":"note=€&grant_type=client_credentials"}');
  });

  it('refuses a body that grows past the limit while streaming, and reads no more of it', async () => {
    const reply = await sendChunked('/big', ['x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600)]);
    expect(await outcomes.get('/big')).toEqual({ code: 'payload_too_large' });
    // The request was destroyed: the client sees its connection cut, not an answer.
    expect(reply.startsWith('error')).toBe(true);
  });

  it('says the body could not be read when the client goes away in the middle of it', async () => {
    await sendChunked('/aborted', ['grant_type=', 'client_credentials'], 1);
    const outcome = await outcomes.get('/aborted');
    expect(outcome).toEqual({ code: 'invalid_request' });
  });

  it('gives an empty body, without waiting, once the body was read', async () => {
    const reply = await sendChunked('/twice', ['a=1']);
    expect(reply).toBe('200 {"body":""}');
  });
});
