import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenApiParser, parseOpenApi } from '../../../gateway/src/compiler/parse-openapi.ts';

const INFO = "info: {title: t, version: '1'}";

async function parsedOk(text: string) {
  const parsed = await parseOpenApi(text);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.document;
}

async function refusal(text: string): Promise<string> {
  const parsed = await parseOpenApi(text);
  if (parsed.ok) throw new Error('expected the document to be refused');
  expect(parsed.reason).toBe('OpenApiInvalid');
  return parsed.message;
}

describe('parseOpenApi', () => {
  it('reads OpenAPI 3.0 YAML and resolves internal $refs', async () => {
    const document = await parsedOk(`
openapi: 3.0.3
${INFO}
paths:
  /a:
    get:
      security: [{oauth: [read]}]
      responses: {'200': {$ref: '#/components/responses/ok'}}
components:
  responses: {ok: {description: ok}}
  securitySchemes:
    oauth: {$ref: '#/components/x-schemes/oauth'}
  x-schemes:
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: /t, scopes: {read: r}}}}
`);
    expect(document.components?.securitySchemes?.oauth).toMatchObject({ type: 'oauth2' });
    expect(document.paths?.['/a']?.get).toMatchObject({
      responses: { 200: { description: 'ok' } },
    });
  });

  // Regression: `scheme: Bearer` with a bearerFormat was refused ("must NOT have unevaluated
  // properties"): the bundled OpenAPI schemas predate the fix that made the name case-insensitive.
  it('accepts an http scheme spelt Bearer (any case) with a bearerFormat, in 3.0 and 3.1', async () => {
    for (const version of ['3.0.3', '3.1.0']) {
      for (const spelling of ['Bearer', 'BEARER', 'bearer']) {
        const document = await parsedOk(`
openapi: ${version}
${INFO}
paths:
  /a: {get: {security: [{jwt: []}], responses: {'200': {description: ok}}}}
components:
  securitySchemes:
    jwt: {type: http, scheme: ${spelling}, bearerFormat: JWT}
`);
        expect(document.components?.securitySchemes?.jwt).toMatchObject({ scheme: 'bearer' });
      }
    }
  });

  it('reads OpenAPI 3.1 JSON', async () => {
    const document = await parsedOk(
      JSON.stringify({
        openapi: '3.1.0',
        info: { title: 't', version: '1' },
        paths: { '/a': { get: {} } },
      }),
    );
    expect(document.openapi).toBe('3.1.0');
  });

  // Regression: with circular references "ignored", the parser left every $ref leading to a
  // recursive schema unresolved, so a $ref'd Path Item lost its operations.
  it('keeps the operations of a $ref Path Item whose responses lead to a recursive schema', async () => {
    const document = await parsedOk(`
openapi: 3.1.0
${INFO}
paths:
  /books: {$ref: '#/components/pathItems/Books'}
components:
  pathItems:
    Books:
      get:
        security: [{key: []}]
        responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Book'}}}}}
  schemas:
    Book: {type: object, properties: {sequel: {$ref: '#/components/schemas/Book'}}}
  securitySchemes:
    key: {type: apiKey, in: header, name: x-api-key}
`);
    expect(document.paths?.['/books']?.get).toMatchObject({ security: [{ key: [] }] });
    // A tree: it can be serialised and cloned.
    expect(() => JSON.stringify(document)).not.toThrow();
  });

  it('accepts a recursive schema in a 3.0 document', async () => {
    await parsedOk(`
openapi: 3.0.3
${INFO}
paths:
  /n: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Node'}}}}}}}
components:
  schemas:
    Node: {type: object, properties: {children: {type: array, items: {$ref: '#/components/schemas/Node'}}}}
`);
  });

  describe('refuses $refs outside the document, without reading them', () => {
    let requests = 0;
    let url = '';
    const server = createServer((_request, response) => {
      requests++;
      response.end(`openapi: 3.0.3\n${INFO}\npaths: {}\n`);
    });
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/paths.yaml`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    for (const ref of [
      'URL',
      '/etc/passwd',
      '../secrets.yaml#/a',
      'file:///etc/hostname',
      'other.yaml',
    ]) {
      it(`$ref ${ref}`, async () => {
        const target = ref === 'URL' ? url : ref;
        const message = await refusal(`
openapi: 3.1.0
${INFO}
paths:
  /a: {$ref: '${target}'}
`);
        expect(message).toContain(`$ref "${target}" at #/paths/~1a points outside the document`);
        expect(requests).toBe(0);
      });
    }
  });

  it('refuses Swagger 2.0 and versions other than 3.0.x and 3.1.x', async () => {
    expect(await refusal(`swagger: '2.0'\n${INFO}\npaths: {}`)).toContain(
      'Swagger 2.0 is not supported',
    );
    expect(await refusal(`openapi: 3.2.0\n${INFO}\npaths: {}`)).toContain(
      '"3.2.0" is not supported',
    );
    expect(await refusal(`openapi: 3.0\n${INFO}\npaths: {}`)).toContain('must be a string');
    expect(await refusal(`${INFO}\npaths: {}`)).toContain('`openapi` field is missing');
  });

  it('says what is wrong with text that is not one OpenAPI object', async () => {
    expect(await refusal('openapi: [')).toContain('not valid YAML or JSON');
    expect(await refusal('openapi: 3.1.0\n---\nopenapi: 3.1.0\n')).toContain(
      'several YAML documents',
    );
    expect(await refusal('openapi: 3.1.0\nopenapi: 3.0.0\n')).toContain('Map keys must be unique');
    expect(await refusal('- openapi')).toContain('must be an OpenAPI object');
    expect(await refusal('')).toContain('must be an OpenAPI object');
  });

  it('names a $ref that points nowhere', async () => {
    const message = await refusal(`
openapi: 3.0.3
${INFO}
paths:
  /a: {get: {responses: {'200': {$ref: '#/components/responses/nope'}}}}
`);
    expect(message).toContain('a $ref points to nothing');
    expect(message).toContain('#/components/responses/nope');
  });

  it('reports schema violations at the place to fix, without the noise of every oneOf branch', async () => {
    const message = await refusal(`
openapi: 3.0.3
info: {title: t}
paths:
  /a: {get: {responses: {'200': {description: ok}}}}
components:
  securitySchemes:
    k: {type: apiKey, in: body, name: key}
`);
    expect(message).toContain("#/info must have required property 'version'");
    expect(message).toContain(
      '#/components/securitySchemes/k/in must be one of "header", "query", "cookie"',
    );
    expect(message).not.toContain("'$ref'");
  });

  it('refuses a document whose $refs expand beyond the bound, instead of validating for ever', async () => {
    // Each schema refers twice to the next: 2^24 objects once expanded, from a few lines.
    const schemas = Array.from({ length: 24 }, (_, index) => {
      const next = `{$ref: '#/components/schemas/S${index + 1}'}`;
      return `    S${index}: {type: object, properties: {a: ${next}, b: ${next}}}`;
    });
    const message = await refusal(`
openapi: 3.0.3
${INFO}
paths:
  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/S0'}}}}}}}
components:
  schemas:
${schemas.join('\n')}
    S24: {type: string}
`);
    expect(message).toContain('expands to more than');
  });

  it('never throws, even on absurdly nested input', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const parsed = await parseOpenApi(deep);
    expect(parsed.ok).toBe(false);
  });

  it('decides alike with its schemas compiled once: a long-lived parser over valid and invalid 3.0 and 3.1 documents', async () => {
    const documents = [
      `openapi: 3.0.3\n${INFO}\npaths:\n  /a: {get: {responses: {'200': {description: ok}}}}`,
      `openapi: 3.0.3\ninfo: {title: t}\npaths: {}`,
      `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/b": {"get": {"responses": {"200": {"description": "ok"}}}}}}`,
      `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/b": {"get": {"parameters": [{"name": "q", "in": "body"}]}}}}`,
      `openapi: 3.0.3\n${INFO}\npaths:\n  /c/{id}: {get: {responses: {'200': {description: ok}}}}`,
    ];
    const parse = createOpenApiParser();
    // Twice over: the second round runs on the schemas the first compiled.
    for (const round of [1, 2]) {
      for (const text of documents) {
        expect({ round, ...(await parse(text)) }).toEqual({ round, ...(await parseOpenApi(text)) });
      }
    }
    const verdicts = await Promise.all(documents.map((text) => parse(text)));
    expect(verdicts.map((parsed) => parsed.ok)).toEqual([true, false, true, false, true]);
  });
});
