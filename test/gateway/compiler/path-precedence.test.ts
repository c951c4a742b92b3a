import { describe, expect, it } from 'vitest';
import {
  comparePathTemplates,
  type PathTemplate,
  parsePathTemplate,
} from '../../../gateway/src/compiler/path-precedence.ts';

function parsed(template: string): PathTemplate {
  const result = parsePathTemplate(template);
  if ('problem' in result) throw new Error(result.problem);
  return result;
}

function ordered(templates: string[]): string[] {
  return templates
    .map(parsed)
    .sort(comparePathTemplates)
    .map((template) => template.template);
}

describe('path template precedence', () => {
  it('puts a concrete segment before a templated one, segment by segment', () => {
    expect(ordered(['/users/{id}', '/users/me'])).toEqual(['/users/me', '/users/{id}']);
    expect(ordered(['/a/{x}/c', '/a/b/{y}'])).toEqual(['/a/b/{y}', '/a/{x}/c']);
    expect(ordered(['/{bucket}', '/admin'])).toEqual(['/admin', '/{bucket}']);
  });

  it('puts a partly templated segment between the two, the longer literal first', () => {
    expect(ordered(['/f/{name}', '/f/{name}.{ext}', '/f/report.{ext}', '/f/report.pdf'])).toEqual([
      '/f/report.pdf',
      '/f/report.{ext}',
      '/f/{name}.{ext}',
      '/f/{name}',
    ]);
  });

  it('gives the same order whatever order the document lists its paths in', () => {
    const templates = [
      '/',
      '/a',
      '/a/{x}',
      '/a/b',
      '/{x}',
      '/{x}/b',
      '/{x}/{y}',
      '/a/b/c',
      '/a/x.{y}',
      '/b',
    ];
    const expected = ordered(templates);
    for (let shift = 1; shift < templates.length; shift++) {
      const rotated = [...templates.slice(shift), ...templates.slice(0, shift)];
      expect(ordered(rotated)).toEqual(expected);
      expect(ordered([...rotated].reverse())).toEqual(expected);
    }
  });

  it('gives templates that differ only in parameter names the same shape', () => {
    expect(parsed('/orders/{orderId}/items/{n}').shape).toBe(
      parsed('/orders/{id}/items/{i}').shape,
    );
    expect(parsed('/f/{a}.{b}').shape).not.toBe(parsed('/f/{a}').shape);
  });

  it('refuses templates that can never match a request path', () => {
    expect(parsePathTemplate('orders')).toEqual({ problem: 'a path must start with "/"' });
    expect(parsePathTemplate('/orders/{}')).toEqual({
      problem: 'a path parameter needs a name, e.g. {id}',
    });
    expect(parsePathTemplate('/orders/{id')).toEqual({ problem: 'unbalanced "{" or "}"' });
    expect(parsePathTemplate('/orders?x=1')).toEqual({
      problem: 'a path cannot contain "?" or "#"',
    });
  });
});
