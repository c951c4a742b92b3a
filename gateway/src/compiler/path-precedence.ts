/**
 * OpenAPI path templates and the order a gateway tries them in. OpenAPI 3 (Paths Object):
 * "When matching URLs, concrete (non-templated) paths would be matched before their templated
 * counterparts", and templates that differ only in parameter names are identical (invalid).
 * The order is decided here, once, so request-time matching is a first-match scan.
 */

/** 0: concrete (`users`), 1: partly templated (`report.{format}`), 2: one parameter (`{id}`). */
export type SegmentKind = 0 | 1 | 2;

export interface TemplateSegment {
  kind: SegmentKind;
  /** The segment as written. */
  text: string;
  /** Characters outside `{…}`: a longer literal part is more specific. */
  literalLength: number;
  /** The segment with every parameter name erased (`report.{}`). */
  shape: string;
}

export interface PathTemplate {
  template: string;
  segments: TemplateSegment[];
  /** The template with parameter names erased: two templates with one shape are the same path. */
  shape: string;
}

const PARAMETER = /\{([^{}/]*)\}/g;

/** Parses a Paths Object key, or says why it can never match a request path. */
export function parsePathTemplate(template: string): PathTemplate | { problem: string } {
  if (!template.startsWith('/')) return { problem: 'a path must start with "/"' };
  if (/[?#]/.test(template)) return { problem: 'a path cannot contain "?" or "#"' };
  const segments: TemplateSegment[] = [];
  for (const text of template.slice(1).split('/')) {
    const literal = text.replace(PARAMETER, (_match, name: string) => (name === '' ? '\0' : ''));
    if (literal.includes('\0')) return { problem: 'a path parameter needs a name, e.g. {id}' };
    if (/[{}]/.test(literal)) return { problem: 'unbalanced "{" or "}"' };
    const parameters = text.match(PARAMETER)?.length ?? 0;
    const kind: SegmentKind = parameters === 0 ? 0 : literal === '' && parameters === 1 ? 2 : 1;
    segments.push({
      kind,
      text,
      literalLength: literal.length,
      shape: text.replace(PARAMETER, '{}'),
    });
  }
  return { template, segments, shape: `/${segments.map((segment) => segment.shape).join('/')}` };
}

/**
 * Match precedence, segment by segment from the left: at the first segment where two templates
 * differ, a concrete segment comes before a partly templated one, which comes before a bare
 * parameter; two partly templated segments: the longer literal part first. Then the shorter
 * template, then code-unit order of the template: a total order, so the result never depends
 * on the order of the document's keys.
 */
export function comparePathTemplates(a: PathTemplate, b: PathTemplate): number {
  const common = Math.min(a.segments.length, b.segments.length);
  for (let index = 0; index < common; index++) {
    const x = a.segments[index] as TemplateSegment;
    const y = b.segments[index] as TemplateSegment;
    if (x.kind !== y.kind) return x.kind - y.kind;
    if (x.kind === 0 && x.text !== y.text) return codeUnitOrder(x.text, y.text);
    if (x.kind === 1) {
      if (x.literalLength !== y.literalLength) return y.literalLength - x.literalLength;
      if (x.shape !== y.shape) return codeUnitOrder(x.shape, y.shape);
    }
  }
  if (a.segments.length !== b.segments.length) return a.segments.length - b.segments.length;
  return codeUnitOrder(a.template, b.template);
}

export function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
