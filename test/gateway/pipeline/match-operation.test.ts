import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/src/errors.ts';
import { compileOperationMatcher } from '../../../gateway/src/pipeline/match-operation.ts';
import { operation, path } from '../../support/snapshot-fixtures.ts';

const open = operation([]);

function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('compileOperationMatcher', () => {
  // Precedence order as the compiler emits it: concrete before templated.
  const matcher = compileOperationMatcher([
    path('/designs/latest', { GET: open }),
    path('/designs/{id}', { GET: open, DELETE: open }),
    path('/designs', { GET: open, POST: open }),
    path('/files/{name}.json', { GET: open }),
    path('/users/{user}/designs/{id}', { PUT: open }),
  ]);

  it('prefers a concrete path over a templated one', () => {
    expect(matcher.match('/designs/latest', 'GET').template).toBe('/designs/latest');
    expect(matcher.match('/designs/42', 'GET')).toMatchObject({
      template: '/designs/{id}',
      params: { id: '42' },
    });
  });

  it('falls through to the next path that has the method', () => {
    // `/designs/latest` declares only GET; `DELETE /designs/{id}` is the operation that matches.
    expect(matcher.match('/designs/latest', 'DELETE').template).toBe('/designs/{id}');
  });

  it('matches parameters inside a segment and across several segments', () => {
    expect(matcher.match('/files/report.v2.json', 'GET').params).toEqual({ name: 'report.v2' });
    expect(matcher.match('/users/ann/designs/7', 'PUT').params).toEqual({ user: 'ann', id: '7' });
  });

  it('decodes parameter values per segment: %2F is a character of the value, not a separator', () => {
    expect(matcher.match('/designs/a%2Fb', 'GET').params).toEqual({ id: 'a/b' });
    expect(failure(() => matcher.match('/designs/a/b', 'GET')).code).toBe('not_found');
  });

  it('never matches an empty parameter, a trailing slash or the bare prefix', () => {
    expect(failure(() => matcher.match('/designs/', 'GET')).code).toBe('not_found');
    expect(failure(() => matcher.match('/designs/42/', 'GET')).code).toBe('not_found');
    expect(failure(() => matcher.match('/files/.json', 'GET')).code).toBe('not_found');
    expect(failure(() => matcher.match('', 'GET')).code).toBe('not_found');
  });

  it('compares literal segments exactly as sent (no case folding, no decoding)', () => {
    expect(failure(() => matcher.match('/Designs', 'GET')).code).toBe('not_found');
    expect(failure(() => matcher.match('/design%73', 'GET')).code).toBe('not_found');
  });

  it('refuses a parameter whose percent-encoding is malformed', () => {
    expect(failure(() => matcher.match('/designs/%zz', 'GET')).code).toBe('not_found');
  });

  it('answers 405 with Allow listing every method of the matching paths, HEAD with GET', () => {
    const error = failure(() => matcher.match('/designs/latest', 'PATCH'));
    expect(error.status).toBe(405);
    expect(error.headers.allow).toBe('DELETE, GET, HEAD');
    expect(failure(() => matcher.match('/users/a/designs/b', 'GET')).headers.allow).toBe('PUT');
  });

  it('serves HEAD with the GET operation when the path has no HEAD operation', () => {
    const head = operation([[['key']]]);
    const m = compileOperationMatcher([
      path('/a', { GET: open }),
      path('/b', { GET: open, HEAD: head }),
    ]);
    expect(m.match('/a', 'HEAD')).toMatchObject({ method: 'GET', operation: open });
    expect(m.match('/b', 'HEAD')).toMatchObject({ method: 'HEAD', operation: head });
  });

  it('compares template characters that need encoding in their encoded form', () => {
    const m = compileOperationMatcher([path('/café/{x}', { GET: open })]);
    expect(m.match('/caf%C3%A9/1', 'GET').params).toEqual({ x: '1' });
  });

  it('treats regex metacharacters in templates literally', () => {
    const m = compileOperationMatcher([path('/v1.0/{id}(x)', { GET: open })]);
    expect(m.match('/v1.0/7(x)', 'GET').params).toEqual({ id: '7' });
    expect(failure(() => m.match('/v1x0/7(x)', 'GET')).code).toBe('not_found');
  });
});
