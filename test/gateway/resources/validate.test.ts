import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdVersions } from '../../../gateway/src/resources/crd-schema.ts';
import type { ResourceValidator } from '../../../gateway/src/resources/validate.ts';
import {
  buildResourceValidator,
  createResourceValidator,
} from '../../../gateway/src/resources/validate.ts';
import { crdDir, invalidDir, readManifests, validDir } from '../../crds/manifests.ts';

const invalid = readManifests(invalidDir);
const valid = readManifests(validDir);

let validator: ResourceValidator;
beforeAll(async () => {
  validator = await createResourceValidator(crdDir);
});

function errorsOf(obj: unknown): string[] {
  const result = validator.validate(obj);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(obj)}`);
  return result.errors;
}

function accepted(obj: unknown) {
  const result = validator.validate(obj);
  if (!result.ok) throw new Error(`rejected:\n${result.errors.join('\n')}`);
  return result.resource;
}

function byName(name: string): Record<string, unknown> {
  for (const m of valid)
    for (const o of m.objects) if ((o.metadata as { name: string }).name === name) return o;
  throw new Error(`no valid example named ${name}`);
}

describe('standalone validation of invalid manifests (same files as the API server test)', () => {
  it('has a broad set of examples, each saying what message it expects', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
    for (const m of invalid) expect(m.expect, m.file).not.toHaveLength(0);
  });

  it.each(invalid.map((m) => [m.file, m] as const))('rejects %s naming the field', (_file, m) => {
    const errors = m.objects.flatMap(errorsOf).join('\n');
    for (const expected of m.expect) expect(errors).toContain(expected);
  });
});

describe('standalone validation of valid manifests', () => {
  it.each(valid.map((m) => [m.file, m] as const))('accepts %s', (_file, m) => {
    for (const obj of m.objects) accepted(obj);
  });

  it('applies the schema defaults to an Api, on a copy', () => {
    const input = byName('recommendations-api');
    const before = structuredClone(input);
    const api = accepted(input);
    expect(input).toEqual(before);
    expect(api.metadata.namespace).toBe('default');
    expect(api.spec).toMatchObject({
      backend: { url: 'https://recommendations.platform.svc/api', timeoutSeconds: 30 },
      tokens: { signingAlgorithm: 'ES256', ttlSeconds: 3600 },
    });
  });

  it('keeps values that were given instead of defaulting them', () => {
    const api = accepted({
      ...byName('recommendations-api'),
      metadata: { name: 'rs', namespace: 'platform' },
    });
    expect(api.metadata.namespace).toBe('platform');
    const custom = structuredClone(byName('recommendations-api')) as {
      spec: Record<string, unknown>;
    };
    custom.spec.tokens = { signingAlgorithm: 'RS256' };
    expect(accepted(custom).spec).toMatchObject({
      tokens: { signingAlgorithm: 'RS256', ttlSeconds: 3600 },
    });
  });

  it('gives a Subscription its default credentials and leaves it active', () => {
    const sub = accepted(byName('acme-design'));
    expect(sub.kind).toBe('Subscription');
    expect(sub.spec).toEqual({
      api: { name: 'design-api' },
      credentials: { clientCredentials: true, apiKey: true },
      suspended: false,
    });
  });

  it('defaults rotation counters, the grace period and public for an authorization code client', () => {
    const sub = accepted(byName('acme-cli'));
    expect(sub.spec).toMatchObject({
      credentials: {
        clientCredentials: false,
        apiKey: false,
        authorizationCode: { public: false },
        rotation: { clientSecret: 2, apiKey: 0, apiKeySecondary: 0, gracePeriodSeconds: 86400 },
      },
    });
  });

  it('reads IdP scopes from the scope claim by default', () => {
    expect(accepted(byName('local-idp')).spec).toMatchObject({ scopeClaim: 'scope' });
    expect(accepted(byName('acme-b2c')).spec).toMatchObject({ scopeClaim: 'scp' });
  });

  it('treats a null field as absent, as the API server does', () => {
    const api = structuredClone(byName('recommendations-api')) as { spec: Record<string, unknown> };
    api.spec.tokens = null;
    api.spec.displayName = null;
    const out = accepted(api);
    expect(out.spec).toMatchObject({ tokens: { signingAlgorithm: 'ES256' } });
    expect(out.spec).not.toHaveProperty('displayName');
  });

  it('ignores status, which a create through the status subresource would drop', () => {
    const api = accepted({
      ...byName('design-api'),
      status: { observedGeneration: 'not even valid' },
    });
    expect(api).not.toHaveProperty('status');
  });
});

describe('what the API server checks before the schema', () => {
  it('names an unknown kind or version', () => {
    expect(errorsOf({ ...byName('design-api'), apiVersion: 'apiway.net/v1beta1' })).toEqual([
      'no matches for kind "Api" in version "apiway.net/v1beta1"',
    ]);
    expect(errorsOf({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } })).toEqual([
      'no matches for kind "Secret" in version "v1"',
    ]);
    expect(errorsOf({ metadata: { name: 'x' } })).toEqual([
      "Object 'apiVersion' is missing",
      "Object 'Kind' is missing",
    ]);
    expect(errorsOf('just a string')).toEqual(['the object must be a mapping, not string']);
  });

  it('requires a name and checks the namespace', () => {
    const api = byName('design-api');
    expect(errorsOf({ ...api, metadata: {} })).toContain(
      'metadata.name: Required value: name or generateName is required',
    );
    expect(
      errorsOf({ ...api, metadata: { name: 'x', namespace: 'Platform' } }).join('\n'),
    ).toContain('metadata.namespace: Invalid value: "Platform": a lowercase RFC 1123 label');
    expect(errorsOf({ ...api, metadata: { name: 'x', labels: { team: 7 } } }).join('\n')).toContain(
      'metadata.labels.team: Invalid value: "integer"',
    );
  });

  it('reports every unknown field and nothing else, like strict decoding', () => {
    const api = structuredClone(byName('design-api')) as { spec: Record<string, unknown> };
    api.spec.basePath = 'no-slash';
    api.spec.retries = 3;
    (api.spec.backend as Record<string, unknown>).tls = {};
    expect(errorsOf(api)).toEqual([
      'unknown field "spec.backend.tls"',
      'unknown field "spec.retries"',
    ]);
  });
});

describe('how errors combine', () => {
  it('skips the CEL rules while a required value is missing, and says so', () => {
    const errors = errorsOf({
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Api',
      metadata: { name: 'x' },
      spec: { basePath: 'no-slash', environments: ['alpha'], openapi: { inline: 'x' } },
    });
    expect(errors).toEqual([
      'spec.backend: Required value',
      '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
  });

  it('reports every failing rule of a field', () => {
    const api = structuredClone(byName('design-api')) as { spec: Record<string, unknown> };
    api.spec.basePath = 'orders//v1/../';
    expect(errorsOf(api)).toEqual([
      `spec.basePath: Invalid value: "string": must start with '/'`,
      `spec.basePath: Invalid value: "string": must not end with '/' (use /name, not /name/ or /)`,
      `spec.basePath: Invalid value: "string": must not contain an empty segment ('//')`,
      `spec.basePath: Invalid value: "string": must not contain '.' or '..' segments`,
    ]);
  });

  it('reports length and count limits as the API server words them', () => {
    const api = structuredClone(byName('design-api')) as { spec: Record<string, unknown> };
    api.spec.basePath = `/${'a'.repeat(300)}`;
    api.spec.environments = Array.from({ length: 17 }, (_, i) => `env-${i}`);
    expect(errorsOf(api)).toEqual([
      'spec.basePath: Too long: may not be more than 256 bytes',
      'spec.environments: Too many: 17: must have at most 16 items',
      '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
  });

  it('reports the second occurrence of a duplicate in a set', () => {
    const sub = structuredClone(byName('acme-design')) as { spec: Record<string, unknown> };
    sub.spec.scopes = ['a', 'a', 'b', 'a'];
    expect(errorsOf(sub)).toEqual(['spec.scopes[1]: Duplicate value: "a"']);
  });
});

// A CRD of our own using the CEL features the Apiway CRDs do not (yet). The expected messages
// below are what kube-apiserver 1.33 answered for the same CRD and objects, except for the
// isURL rule: the API server has Kubernetes' URL library, @bufbuild/cel does not.
const widgetCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                namespace: {type: string, maxLength: 63}
                min: {type: integer}
                max: {type: integer}
                url: {type: string, maxLength: 100}
                labels:
                  type: object
                  maxProperties: 4
                  additionalProperties: {type: string, maxLength: 10}
                  x-kubernetes-validations:
                    - rule: "!('bad' in self)"
                      message: no bad label
              x-kubernetes-validations:
                - rule: "!has(self.__namespace__) || self.__namespace__ != 'kube-system'"
                  messageExpression: "'namespace ' + self.__namespace__ + ' is reserved'"
                - rule: "!has(self.min) || !has(self.max) || self.min <= self.max"
                  fieldPath: .max
                  reason: FieldValueForbidden
                  message: max must not be below min
                - rule: "!has(self.url) || self.url.startsWith('https://')"
                  fieldPath: .url
                  reason: FieldValueRequired
                  message: an https url is required
                - rule: "!has(self.min) || self.min != 13"
                - rule: "!has(self.url) || isURL(self.url)"
                  message: not a URL
`;

describe('CEL features beyond what the Apiway CRDs use', () => {
  const widgets = buildResourceValidator(
    crdVersions(parse(widgetCrd) as Record<string, unknown>, 'widget CRD'),
  );
  const widget = (spec: Record<string, unknown>) => ({
    apiVersion: 'example.test/v1',
    kind: 'Widget',
    metadata: { name: 'w' },
    spec,
  });

  it('supports messageExpression, fieldPath, reason, escaped names and map rules', () => {
    const result = widgets.validate(
      widget({ namespace: 'kube-system', min: 13, max: 2, labels: { bad: 'x', ok: 'fine' } }),
    );
    expect(result.ok ? [] : result.errors.sort()).toEqual([
      'spec.labels: Invalid value: "object": no bad label',
      'spec.max: Forbidden: max must not be below min',
      'spec: Invalid value: "object": failed rule: !has(self.min) || self.min != 13',
      'spec: Invalid value: "object": namespace kube-system is reserved',
    ]);
  });

  it('reports a rule it cannot evaluate instead of letting the object through', () => {
    const result = widgets.validate(widget({ url: 'https://example.test/' }));
    expect(result).toEqual({
      ok: false,
      errors: ['spec: Invalid value: "object": unbound function: isURL evaluating rule: not a URL'],
    });
  });

  it('counts properties over maxProperties as the API server does', () => {
    const result = widgets.validate(widget({ labels: { a: '1', b: '2', c: '3', d: '4', e: '5' } }));
    expect(result.ok ? [] : result.errors).toContain(
      'spec.labels: Too many: 5: must have at most 4 items',
    );
  });
});
