import { describe, expect, it } from 'vitest';
import { upstreamPath } from '../../../gateway/src/proxy/upstream-url.ts';

const backend = new URL('http://design.platform.svc:8080');

describe('upstreamPath', () => {
  it('appends the rest of the path and the query unchanged (SPEC example)', () => {
    expect(upstreamPath(backend, '/designs/42', 'x=1')).toBe('/designs/42?x=1');
  });

  it("prefixes backend.url's path, without doubling its trailing slash", () => {
    expect(upstreamPath(new URL('http://b/v2/'), '/designs', undefined)).toBe('/v2/designs');
    expect(upstreamPath(new URL('http://b/v2'), '/designs/', undefined)).toBe('/v2/designs/');
  });

  it('never decodes or re-encodes anything', () => {
    expect(upstreamPath(backend, '/files/a%2Fb%20c', 'q=a+b&r=%2F&&s')).toBe(
      '/files/a%2Fb%20c?q=a+b&r=%2F&&s',
    );
    expect(upstreamPath(backend, '/x', '')).toBe('/x?');
  });

  it('removes only the query parameters that carried a consumed API key', () => {
    const consumed = new Set(['api_key']);
    expect(upstreamPath(backend, '/x', 'a=1&api_key=secret&b=%2F', consumed)).toBe('/x?a=1&b=%2F');
    expect(upstreamPath(backend, '/x', 'api_key=secret', consumed)).toBe('/x');
    // Encoded names are the same parameter to URLSearchParams, so they go too.
    expect(upstreamPath(backend, '/x', 'api%5Fkey=secret&apikey=1', consumed)).toBe('/x?apikey=1');
  });
});
