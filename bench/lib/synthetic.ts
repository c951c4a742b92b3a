/**
 * A synthetic platform for the scale scenario, generated in memory (deterministic: a seeded
 * PRNG), shaped like a large organisation's:
 *
 * - `apis` Apis in team namespaces (100 per team), each with a small OpenAPI 3.1 document (6
 *   operations: public, API key or token, scoped reads and writes, a path parameter), its own
 *   backend origin, and default per-consumer rate limits;
 * - one Product per 10 Apis of a team, bundling them;
 * - `subscriptions` Subscriptions in consumer namespaces (100 per namespace), 80% to one Api and
 *   20% to a Product, 10% with their own rate limit, each with issued credentials (a client
 *   secret and two API keys), as the gather step hands them to the compiler.
 */

import type {
  CompileInput,
  IssuedCredentials,
  OpenApiDocument,
} from '../../gateway/src/compiler/types.ts';
import type {
  ApiResource,
  ProductResource,
  SubscriptionResource,
} from '../../gateway/src/resources/types.ts';

export interface SyntheticPlatform {
  input: CompileInput;
  /** The text of each Api's document (JSON, which is YAML too), by Api key: for parse timing. */
  documentText(apiKey: string): string;
}

const APIS_PER_TEAM = 100;
const APIS_PER_PRODUCT = 10;
const SUBSCRIPTIONS_PER_NAMESPACE = 100;
const CREATED = '2026-01-01T00:00:00Z';

/** mulberry32: small, fast, and the same sequence for the same seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

export function openApiDocument(index: number): OpenApiDocument {
  const resource = `r${pad(index, 5)}`;
  const read = `read:${resource}`;
  const write = `write:${resource}`;
  const ok = { '200': { description: 'ok' } };
  return {
    openapi: '3.1.0',
    info: { title: `Synthetic API ${index}`, version: '1.0.0' },
    components: {
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          flows: {
            clientCredentials: {
              tokenUrl: `https://gateway.example/${resource}/oauth2/v2/token`,
              scopes: { [read]: 'Read', [write]: 'Write' },
            },
          },
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
    security: [{ oauth2: [read] }],
    paths: {
      '/health': { get: { security: [], responses: ok } },
      '/items': {
        get: { security: [{ oauth2: [read] }, { apiKey: [] }], responses: ok },
        post: { security: [{ oauth2: [write] }], responses: ok },
      },
      '/items/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { responses: ok },
        put: { security: [{ oauth2: [write] }], responses: ok },
        delete: { security: [{ oauth2: [write] }], responses: ok },
      },
    },
  };
}

export function syntheticPlatform(options: {
  apis: number;
  subscriptions: number;
  environment?: string;
  seed?: number;
}): SyntheticPlatform {
  const environment = options.environment ?? 'alpha';
  const random = prng(options.seed ?? 42);
  const apis: ApiResource[] = [];
  const documents = new Map<string, OpenApiDocument>();
  const apiIndexByKey = new Map<string, number>();
  for (let index = 0; index < options.apis; index++) {
    const team = `team-${pad(Math.floor(index / APIS_PER_TEAM), 3)}`;
    const name = `api-${pad(index, 5)}`;
    apis.push({
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Api',
      metadata: { name, namespace: team, generation: 1, creationTimestamp: CREATED },
      spec: {
        basePath: `/${team}/${name}/v1`,
        environments: [environment],
        backend: { url: `http://${name}.${team}.svc:8080`, timeoutSeconds: 30 },
        openapi: { inline: '(generated)' },
        tokens: { signingAlgorithm: 'ES256', ttlSeconds: 3600 },
        rateLimit: {
          limits: [
            { requests: 100, period: '1s' },
            { requests: 100_000, period: '1d' },
          ],
        },
        subscribers: { namespaces: ['*'] },
      },
    });
    const key = `${team}/${name}`;
    documents.set(key, openApiDocument(index));
    apiIndexByKey.set(key, index);
  }

  const products: ProductResource[] = [];
  for (let start = 0; start < options.apis; start += APIS_PER_PRODUCT) {
    const members = apis.slice(start, start + APIS_PER_PRODUCT);
    const team = (members[0] as ApiResource).metadata.namespace;
    products.push({
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Product',
      metadata: {
        name: `product-${pad(start / APIS_PER_PRODUCT, 4)}`,
        namespace: team,
        generation: 1,
        creationTimestamp: CREATED,
      },
      spec: {
        apis: members.map((api) => ({ name: api.metadata.name })),
        rateLimit: { limits: [{ requests: 1000, period: '1m' }] },
        subscribers: { namespaces: ['*'] },
      },
    });
  }

  const subscriptions: SubscriptionResource[] = [];
  const issued = new Map<string, IssuedCredentials>();
  const secret = (label: string, index: number) =>
    `apw_${label}_${pad(index, 7)}_${Math.floor(random() * 2 ** 48).toString(36)}${Math.floor(random() * 2 ** 48).toString(36)}`;
  for (let index = 0; index < options.subscriptions; index++) {
    const namespace = `consumer-${pad(Math.floor(index / SUBSCRIPTIONS_PER_NAMESPACE), 4)}`;
    const name = `sub-${pad(index, 6)}`;
    const toProduct = random() < 0.2 && products.length > 0;
    const target = toProduct
      ? products[Math.floor(random() * products.length)]
      : apis[Math.floor(random() * apis.length)];
    if (!target) break;
    const subscription: SubscriptionResource = {
      apiVersion: 'apiway.net/v1alpha1',
      kind: 'Subscription',
      metadata: { name, namespace, generation: 1, creationTimestamp: CREATED },
      spec: toProduct
        ? { product: { name: target.metadata.name, namespace: target.metadata.namespace } }
        : { api: { name: target.metadata.name, namespace: target.metadata.namespace } },
    };
    if (random() < 0.1) subscription.spec.rateLimit = { limits: [{ requests: 50, period: '1s' }] };
    subscriptions.push(subscription);
    issued.set(`${namespace}/${name}`, {
      clientId: `${namespace}.${name}`,
      clientSecrets: [{ value: secret('cs', index) }],
      apiKeys: [{ value: secret('ak', index) }, { value: secret('ak2', index) }],
    });
  }

  const openapi = new Map(
    [...documents].map(([key, document]) => [key, { ok: true as const, document }]),
  );
  return {
    input: {
      environment,
      apis,
      products,
      subscriptions,
      idpAssociations: [],
      secrets: [],
      openapi,
      issued,
      now: new Date(CREATED),
    },
    documentText: (apiKey) =>
      JSON.stringify(openApiDocument(apiIndexByKey.get(apiKey) ?? 0), null, 1),
  };
}
