// Invariants of the four CRDs that the API server does not enforce but users rely on:
// descriptions everywhere (`kubectl explain`), bounds everywhere (CEL cost, etcd size), the
// `apiway` category, and the fragments the kinds share kept identical.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdDir } from './manifests.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: unknown;
  maxLength?: number;
  maxItems?: number;
  enum?: unknown[];
  [keyword: string]: unknown;
}

const kinds = {
  Api: 'apiway.net_apis.yaml',
  Product: 'apiway.net_products.yaml',
  Subscription: 'apiway.net_subscriptions.yaml',
  IdpAssociation: 'apiway.net_idpassociations.yaml',
} as const;

// biome-ignore lint/suspicious/noExplicitAny: a parsed CRD, inspected field by field below
function load(file: string): any {
  return parse(readFileSync(join(crdDir, file), 'utf8'));
}

const crds = Object.entries(kinds).map(([kind, file]) => ({ kind, file, crd: load(file) }));

function walk(schema: Schema, path: string, visit: (s: Schema, path: string) => void): void {
  visit(schema, path);
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    walk(child, `${path}.${key}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
}

describe.each(crds)('the $kind CRD', ({ kind, crd }) => {
  const version = crd.spec.versions[0];
  const schema: Schema = version.schema.openAPIV3Schema;

  it('is apiway.net/v1alpha1, namespaced, in the apiway category, with a status subresource', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.spec.group).toBe('apiway.net');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.kind).toBe(kind);
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.apiway.net`);
    expect(crd.spec.names.categories).toEqual(['apiway']);
    expect(crd.spec.names.shortNames).toHaveLength(1);
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('shows Accepted, Ready and Age columns', () => {
    const columns = version.additionalPrinterColumns.map((c: { name: string }) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['Accepted', 'Ready', 'Age']));
  });

  it('has a structural schema: a type on every node, no properties beside additionalProperties', () => {
    walk(schema, kind, (s, path) => {
      expect(s.type, path).toBeDefined();
      if (s.properties) expect(s.additionalProperties, path).toBeUndefined();
      if (s.type === 'array') expect(s.items, path).toBeDefined();
    });
  });

  it('describes every field of spec and status, for kubectl explain', () => {
    for (const part of ['spec', 'status']) {
      walk(schema.properties?.[part] as Schema, `${kind}.${part}`, (s, path) => {
        expect(s.description, path).toBeTruthy();
      });
    }
  });

  it('bounds every string and list, so CEL cost estimates and object sizes stay small', () => {
    walk(schema.properties?.spec as Schema, `${kind}.spec`, (s, path) => {
      if (s.type === 'string' && !s.enum) expect(s.maxLength, path).toBeGreaterThan(0);
      if (s.type === 'array') expect(s.maxItems, path).toBeGreaterThan(0);
    });
  });
});

describe('fragments shared by the kinds', () => {
  const stripDescriptions = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value, (key, v) => (key === 'description' ? undefined : v)));
  const at = (kind: keyof typeof kinds, ...path: string[]): unknown => {
    // biome-ignore lint/suspicious/noExplicitAny: walking a parsed CRD
    let node: any = crds.find((c) => c.kind === kind)?.crd.spec.versions[0].schema.openAPIV3Schema;
    for (const key of path) node = node.properties[key];
    return stripDescriptions(node);
  };

  it('status conditions are the same metav1.Condition everywhere', () => {
    const api = at('Api', 'status', 'conditions');
    for (const kind of ['Product', 'Subscription', 'IdpAssociation'] as const) {
      expect(at(kind, 'status', 'conditions'), kind).toEqual(api);
    }
  });

  it('rate limits are written the same way on Api, Product and Subscription', () => {
    const api = at('Api', 'spec', 'rateLimit');
    expect(at('Product', 'spec', 'rateLimit')).toEqual(api);
    expect(at('Subscription', 'spec', 'rateLimit')).toEqual(api);
  });

  it('Api and Product restrict subscribers the same way', () => {
    expect(at('Product', 'spec', 'subscribers')).toEqual(at('Api', 'spec', 'subscribers'));
  });

  it('references to Apis are the same everywhere', () => {
    const product = at('Product', 'spec', 'apis');
    expect(at('IdpAssociation', 'spec', 'apis')).toEqual(product);
    const item = (product as { items: unknown }).items;
    expect(at('Subscription', 'spec', 'api')).toEqual(item);
    expect(at('Subscription', 'spec', 'product')).toEqual(item);
  });
});
