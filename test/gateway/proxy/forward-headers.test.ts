import { describe, expect, it } from 'vitest';
import {
  clientResponseHeaders,
  type ForwardingContext,
  upstreamRequestHeaders,
} from '../../../gateway/src/proxy/forward-headers.ts';

const context: ForwardingContext = {
  consumedHeaders: new Set(['x-api-key']),
  consumedAuthorization: true,
  forwardedFor: '10.0.0.7',
  forwardedProto: 'http',
  forwardedHost: 'gw.example',
  forwardedPrefix: '/design-api/v1',
  requestId: 'req-1',
  consumer: { clientId: 'client-acme', subscription: 'acme/platform', scopes: ['read', 'write'] },
};

function asPairs(flat: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

describe('upstreamRequestHeaders', () => {
  it('strips hop-by-hop headers, those named in Connection, credentials and spoofable ones', () => {
    // biome-ignore format: one name/value pair per line
    const raw = [
      'Host', 'gw.example',
      'Connection', 'keep-alive, X-Secret-Hop',
      'Keep-Alive', 'timeout=5',
      'TE', 'trailers',
      'Trailer', 'x',
      'Upgrade', 'h2c',
      'Proxy-Authorization', 'Basic abc',
      'X-Secret-Hop', '1',
      'Authorization', 'Bearer token',
      'X-API-Key', 'key',
      'X-Forwarded-For', '6.6.6.6',
      'Forwarded', 'for=6.6.6.6',
      'X-Apiway-Client-Id', 'spoofed',
      'X-Request-Id', 'client-chosen',
      'Expect', '100-continue',
      'Cookie', 'session=1',
      'Accept', 'application/json',
      'Accept', 'text/plain',
    ];
    expect(asPairs(upstreamRequestHeaders(raw, context))).toEqual([
      ['Cookie', 'session=1'],
      ['Accept', 'application/json'],
      ['Accept', 'text/plain'],
      ['x-forwarded-for', '10.0.0.7'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'gw.example'],
      ['x-forwarded-prefix', '/design-api/v1'],
      ['x-request-id', 'req-1'],
      ['x-apiway-client-id', 'client-acme'],
      ['x-apiway-subscription', 'acme/platform'],
      ['x-apiway-scopes', 'read write'],
    ]);
  });

  it('keeps an Authorization header the gateway did not consume, and sets no consumer headers for anonymous requests', () => {
    const headers = upstreamRequestHeaders(['Authorization', 'Basic dXNlcg=='], {
      ...context,
      consumedAuthorization: false,
      consumer: undefined,
    });
    expect(headers).toContain('Basic dXNlcg==');
    expect(headers.some((name) => name.startsWith('x-apiway-'))).toBe(false);
  });
});

describe('clientResponseHeaders', () => {
  it("strips hop-by-hop headers and replaces the backend's request id", () => {
    // biome-ignore format: one name/value pair per line
    const raw = [
      Buffer.from('Content-Type'), Buffer.from('text/plain'),
      Buffer.from('Transfer-Encoding'), Buffer.from('chunked'),
      Buffer.from('Connection'), Buffer.from('close, X-Hop'),
      Buffer.from('X-Hop'), Buffer.from('1'),
      Buffer.from('Set-Cookie'), Buffer.from('a=1'),
      Buffer.from('Set-Cookie'), Buffer.from('b=2'),
      Buffer.from('X-Request-Id'), Buffer.from('backend'),
    ];
    expect(asPairs(clientResponseHeaders(raw, { 'x-request-id': 'req-1' }))).toEqual([
      ['Content-Type', 'text/plain'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['x-request-id', 'req-1'],
    ]);
  });
});
