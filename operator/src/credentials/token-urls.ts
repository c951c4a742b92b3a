/**
 * The `token_url` entries of a credential Secret. Pure.
 *
 * - A Subscription to an Api: `token_url` = `{publicUrl}{basePath}/oauth2/v2/token`.
 * - A Subscription to a Product: there is no product-level token endpoint (SPEC.md): one
 *   `token_url.<api-name>` per member Api that exists, in the Product's order, and `token_url`
 *   = that of the first member, so a client that reads only `token_url` still works for it.
 *   Two members of the same name in different namespaces: the later one is
 *   `token_url.<namespace>.<api-name>`.
 *
 * `publicUrl` is the one given for the Api's first environment that has one
 * (`--public-url ENV=URL`); without any, the URL is the path alone, relative to whatever
 * address the consumer reaches the gateways at. A target that does not exist yet gives no entry.
 */

import { referenceKey } from '../../../gateway/src/compiler/references.ts';
import {
  type ApiResource,
  objectKey,
  type ProductResource,
  type SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';

export const TOKEN_PATH = '/oauth2/v2/token';

export interface TokenUrlLookups {
  api(key: string): ApiResource | undefined;
  product(key: string): ProductResource | undefined;
  publicUrls: ReadonlyMap<string, string>;
}

export function tokenUrls(
  subscription: SubscriptionResource,
  lookups: TokenUrlLookups,
): Record<string, string> {
  const { api, product } = subscription.spec;
  if (api) {
    const target = lookups.api(referenceKey(api, subscription.metadata));
    return target ? { token_url: tokenUrl(target, lookups.publicUrls) } : {};
  }
  if (!product) return {};
  const target = lookups.product(referenceKey(product, subscription.metadata));
  if (!target) return {};
  const urls: Record<string, string> = {};
  let first: string | undefined;
  for (const member of target.spec.apis ?? []) {
    const memberApi = lookups.api(referenceKey(member, target.metadata));
    if (!memberApi) continue;
    const url = tokenUrl(memberApi, lookups.publicUrls);
    const plain = `token_url.${memberApi.metadata.name}`;
    const key =
      plain in urls ? `token_url.${objectKey(memberApi.metadata).replace('/', '.')}` : plain;
    urls[key] = url;
    first ??= url;
  }
  if (first !== undefined) urls.token_url = first;
  return urls;
}

function tokenUrl(api: ApiResource, publicUrls: ReadonlyMap<string, string>): string {
  const environment = (api.spec.environments ?? []).find((env) => publicUrls.has(env));
  const base = environment === undefined ? '' : (publicUrls.get(environment) as string);
  return `${base}${api.spec.basePath}${TOKEN_PATH}`;
}
