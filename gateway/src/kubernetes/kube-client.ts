/**
 * A small JSON client for the Kubernetes API, shared by the operator and the gateway's
 * Kubernetes source. It sends plain JSON to resource paths, authenticated the way the
 * kubeconfig says (client certificates, tokens, exec plugins: `@kubernetes/client-node` applies
 * them), with undici's fetch, which `@kubernetes/client-node` itself uses for watches.
 *
 * Why not the generated typed clients: they convert dates and drop fields their models do not
 * know, and custom resources and server-side apply are plain JSON anyway.
 *
 * Errors are `KubeApiError` with the HTTP status and the API's `reason`; a response body is
 * never put into an error or a log line whole (it may hold a Secret's data).
 */

import {
  HttpMethod,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  RequestContext,
} from '@kubernetes/client-node';
import { fetch } from 'undici';

const REQUEST_TIMEOUT_MS = 30_000;
const LIST_PAGE_SIZE = 500;

export class KubeApiError extends Error {
  readonly status: number;
  /** The Status `reason` (e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Forbidden`), when the API sent one. */
  readonly reason: string | undefined;

  constructor(status: number, reason: string | undefined, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ApplyOptions {
  fieldManager: string;
  /** Take over fields another manager owns (the operator is the only writer of what it applies). */
  force?: boolean;
}

export interface KubeClient {
  /** The object, or undefined when it does not exist (404). */
  get<T extends KubernetesObject>(path: string): Promise<T | undefined>;
  /** Every object at a collection path, following `continue` tokens. */
  list<T extends KubernetesObject>(
    path: string,
    selectors?: Selectors,
  ): Promise<KubernetesListObject<T>>;
  create<T extends KubernetesObject>(collectionPath: string, body: T): Promise<T>;
  /** PUT: optimistic when `body.metadata.resourceVersion` is set (409 Conflict when it is stale). */
  replace<T extends KubernetesObject>(path: string, body: T): Promise<T>;
  /** Server-side apply (PATCH application/apply-patch+yaml; JSON is YAML). */
  apply<T extends KubernetesObject>(path: string, body: T, options: ApplyOptions): Promise<T>;
  /** True when something was deleted, false when it was already gone. */
  delete(
    path: string,
    options?: { uid?: string; propagationPolicy?: 'Background' | 'Foreground' },
  ): Promise<boolean>;
}

export function createKubeClient(kubeConfig: KubeConfig): KubeClient {
  async function request(
    method: HttpMethod,
    path: string,
    options: {
      query?: Record<string, string | undefined>;
      body?: unknown;
      contentType?: string;
    } = {},
  ): Promise<{ status: number; body: unknown }> {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const context = new RequestContext(url.toString(), method);
    await kubeConfig.applySecurityAuthentication(context);
    const headers = context.getHeaders() as Record<string, string>;
    headers.accept = 'application/json';
    if (options.body !== undefined)
      headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      dispatcher: context.getDispatcher(),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.status >= 400) throw toError(method, path, response.status, body);
    return { status: response.status, body };
  }

  return {
    async get<T extends KubernetesObject>(path: string) {
      try {
        return (await request(HttpMethod.GET, path)).body as T;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return undefined;
        throw error;
      }
    },
    async list<T extends KubernetesObject>(path: string, selectors: Selectors = {}) {
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion = '';
      do {
        const page = (
          await request(HttpMethod.GET, path, {
            query: {
              labelSelector: selectors.labelSelector,
              fieldSelector: selectors.fieldSelector,
              limit: String(LIST_PAGE_SIZE),
              continue: continueToken,
            },
          })
        ).body as KubernetesListObject<T>;
        items.push(...(page.items ?? []));
        continueToken =
          page.metadata?._continue ||
          (page.metadata as { continue?: string })?.continue ||
          undefined;
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      } while (continueToken);
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items };
    },
    async create<T extends KubernetesObject>(collectionPath: string, body: T) {
      return (await request(HttpMethod.POST, collectionPath, { body })).body as T;
    },
    async replace<T extends KubernetesObject>(path: string, body: T) {
      return (await request(HttpMethod.PUT, path, { body })).body as T;
    },
    async apply<T extends KubernetesObject>(path: string, body: T, options: ApplyOptions) {
      return (
        await request(HttpMethod.PATCH, path, {
          body,
          contentType: 'application/apply-patch+yaml',
          query: { fieldManager: options.fieldManager, force: options.force ? 'true' : undefined },
        })
      ).body as T;
    },
    async delete(path, options = {}) {
      try {
        await request(HttpMethod.DELETE, path, {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(options.uid ? { preconditions: { uid: options.uid } } : {}),
            ...(options.propagationPolicy ? { propagationPolicy: options.propagationPolicy } : {}),
          },
        });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return false;
        throw error;
      }
    },
  };
}

/** The path of a resource collection or object, e.g. `/api/v1/namespaces/x/secrets/y`. */
export function resourcePath(target: {
  group?: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}): string {
  const prefix = target.group
    ? `/apis/${target.group}/${target.version}`
    : `/api/${target.version}`;
  const namespace = target.namespace ? `/namespaces/${encodeURIComponent(target.namespace)}` : '';
  const name = target.name ? `/${encodeURIComponent(target.name)}` : '';
  const subresource = target.name && target.subresource ? `/${target.subresource}` : '';
  return `${prefix}${namespace}/${target.resource}${name}${subresource}`;
}

/** True for a KubeApiError with this status. */
export function hasStatus(error: unknown, status: number): boolean {
  return error instanceof KubeApiError && error.status === status;
}

function toError(method: string, path: string, status: number, body: unknown): KubeApiError {
  const statusBody = (body ?? {}) as { reason?: unknown; message?: unknown };
  const reason = typeof statusBody.reason === 'string' ? statusBody.reason : undefined;
  // A Status message names the object and what was wrong with the request, never data.
  const detail =
    typeof statusBody.message === 'string' ? `: ${statusBody.message.slice(0, 500)}` : '';
  return new KubeApiError(status, reason, `${method} ${path} failed with ${status}${detail}`);
}
