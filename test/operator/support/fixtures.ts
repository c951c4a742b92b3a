/** Apiway objects for the operator's integration tests. */

export const PUBLIC_URL = 'http://apiway.test';

/** An OpenAPI document: every path answers GET, secured by a token (scope read) or an API key. */
export function openapi(paths: readonly string[], options: { scopes?: string[] } = {}): string {
  const scopes = options.scopes ?? ['read', 'write'];
  return [
    'openapi: 3.1.0',
    'info: {title: Test API, version: "1"}',
    'components:',
    '  securitySchemes:',
    '    oauth2:',
    '      type: oauth2',
    '      flows:',
    '        clientCredentials:',
    '          tokenUrl: /oauth2/v2/token',
    `          scopes: {${scopes.map((s) => `${s}: ${s}`).join(', ')}}`,
    '    apiKey: {type: apiKey, in: header, name: x-api-key}',
    'security:',
    '  - oauth2: [read]',
    '  - apiKey: []',
    'paths:',
    ...paths.map((path) => `  ${path}: {get: {responses: {'200': {description: ok}}}}`),
    '',
  ].join('\n');
}

export function api(
  namespace: string,
  name: string,
  options: {
    basePath: string;
    backend: string;
    paths?: string[];
    document?: string;
    environments?: string[];
  },
) {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Api',
    metadata: { name, namespace },
    spec: {
      basePath: options.basePath,
      environments: options.environments ?? ['alpha'],
      backend: { url: options.backend },
      openapi: { inline: options.document ?? openapi(options.paths ?? ['/items']) },
    },
  };
}

export function product(namespace: string, name: string, apis: string[]) {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Product',
    metadata: { name, namespace },
    spec: { apis: apis.map((apiName) => ({ name: apiName })) },
  };
}

export function subscription(
  namespace: string,
  name: string,
  target: { api: string } | { product: string },
  extra: Record<string, unknown> = {},
) {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Subscription',
    metadata: { name, namespace },
    spec: {
      ...('api' in target ? { api: { name: target.api } } : { product: { name: target.product } }),
      ...extra,
    },
  };
}
