import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  coalescePerTurn,
  createLogger,
  redactPaths,
  serializeRequest,
} from '../../../gateway/src/observability/logger.ts';

describe('createLogger', () => {
  it('redacts credential headers, including configured API-key header names', () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: { write: (line: string) => void lines.push(line) },
      apiKeyHeaders: ['X-Partner-Key'],
    });
    logger.info(
      {
        res: { headers: { 'set-cookie': 'session=s3cret' } },
        req: {
          headers: {
            authorization: 'Bearer tok3n',
            cookie: 'c00kie',
            'x-api-key': 'k3y',
            'x-partner-key': 'p4rtner',
          },
        },
      },
      'with headers',
    );
    const text = lines.join('');
    for (const secret of ['s3cret', 'tok3n', 'c00kie', 'k3y', 'p4rtner'])
      expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it('lists exact redaction paths', () => {
    expect(redactPaths(['X-Partner-Key'])).toEqual([
      'req.headers["authorization"]',
      'req.headers["cookie"]',
      'req.headers["proxy-authorization"]',
      'req.headers["x-api-key"]',
      'req.headers["x-partner-key"]',
      'res.headers["set-cookie"]',
    ]);
  });
});

describe('serializeRequest', () => {
  it('logs the path without its query string and no headers', () => {
    const req = {
      method: 'GET',
      url: '/design-api/v1/designs?api_key=s3cret',
      headers: { authorization: 'Bearer x' },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    expect(serializeRequest(req)).toEqual({
      method: 'GET',
      path: '/design-api/v1/designs',
      remoteAddress: '127.0.0.1',
    });
  });
});

describe('coalescePerTurn', () => {
  it('writes the lines of one turn of the event loop in one write, in order, before the next turn', async () => {
    const writes: string[] = [];
    const logger = createLogger({
      destination: coalescePerTurn({ write: (text: string) => void writes.push(text) }),
    });
    for (let line = 0; line < 5; line++) logger.info({ line }, 'request completed');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1);
    const lines = (writes[0] as string).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).line)).toEqual([0, 1, 2, 3, 4]);

    logger.info({ line: 5 }, 'later');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(2);
  });

  it('writes what is pending at once when the logger is flushed', () => {
    const writes: string[] = [];
    const logger = createLogger({
      destination: coalescePerTurn({ write: (text: string) => void writes.push(text) }),
    });
    logger.info('before the banner');
    let flushed = false;
    logger.flush(() => {
      flushed = true;
    });
    expect(flushed).toBe(true);
    expect(writes.join('')).toContain('before the banner');
  });
});
