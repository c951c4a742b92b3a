/**
 * The gather step of standalone mode: from the selected objects to the compiler's inputs. The
 * only I/O-like work here is parsing each Api's OpenAPI document (inline, or from a ConfigMap
 * of the config dir), cached by a hash of its text so a reload reparses only what changed.
 *
 * Keep last good, for documents: an Api whose document stops parsing (a broken edit) keeps
 * serving its last good version, Api and document together, while the error is reported. A
 * missing ConfigMap or key is not a broken edit but a removal: the compiler reports it on the
 * Api (`OpenApiNotFound`).
 */

import { createOpenApiCache, type ParseOpenApi } from '../compiler/openapi-cache.ts';
import type { ParsedOpenApi } from '../compiler/types.ts';
import {
  type ApiResource,
  type IdpAssociationResource,
  objectKey,
  type ProductResource,
  type SecretResource,
  type SubscriptionResource,
} from '../resources/types.ts';
import type { ConfigMapResource, ConfigProblem } from './config-dir.ts';
import { describeEntry, type SelectedObject, type Selection } from './select-objects.ts';

export interface Gathered {
  apis: ApiResource[];
  products: ProductResource[];
  subscriptions: SubscriptionResource[];
  idpAssociations: IdpAssociationResource[];
  secrets: SecretResource[];
  configMaps: ConfigMapResource[];
  /** By Api key "namespace/name". */
  openapi: Map<string, ParsedOpenApi>;
  /** The selection after keep-last-good of documents: what to remember as last good. */
  objects: Map<string, SelectedObject>;
  problems: ConfigProblem[];
}

export interface Gatherer {
  gather(selection: Selection): Promise<Gathered>;
}

export function createGatherer(parseOpenApi: ParseOpenApi): Gatherer {
  const documents = createOpenApiCache(parseOpenApi);
  /** By Api key: the last version whose document parsed, with that document. */
  const lastGood = new Map<string, { selected: SelectedObject; parsed: ParsedOpenApi }>();

  return {
    async gather(selection) {
      const objects = new Map(selection.objects);
      const problems: ConfigProblem[] = [];
      const all = [...objects.values()];
      const configMaps = all.flatMap((o) => (o.object.kind === 'ConfigMap' ? [o.object] : []));
      const openapi = new Map<string, ParsedOpenApi>();

      for (const [identity, selected] of objects) {
        if (selected.object.kind !== 'Api') continue;
        const api = selected.object;
        const key = objectKey(api.metadata);
        const source = documentText(api, configMaps);
        if ('missing' in source) {
          openapi.set(key, { ok: false, reason: 'OpenApiNotFound', message: source.missing });
          lastGood.delete(key);
          continue;
        }
        const parsed = await documents.parse(source.text);
        const previous = lastGood.get(key);
        if (parsed.ok) {
          openapi.set(key, parsed);
          lastGood.set(key, { selected, parsed });
        } else if (previous) {
          objects.set(identity, previous.selected);
          openapi.set(key, previous.parsed);
          problems.push({
            severity: 'error',
            subject: describeEntry(selected),
            message: `${parsed.message} (still serving its last good version)`,
          });
        } else {
          // No good version to fall back on: the compiler reports it on the Api.
          openapi.set(key, parsed);
        }
      }
      for (const key of lastGood.keys()) if (!openapi.has(key)) lastGood.delete(key);
      // Documents no Api uses any more are forgotten (one per Api, plus room for edits).
      documents.retain(openapi.size + lastGood.size + 16);

      const served = [...objects.values()].map((o) => o.object);
      return {
        apis: served.filter((o): o is ApiResource => o.kind === 'Api'),
        products: served.filter((o): o is ProductResource => o.kind === 'Product'),
        subscriptions: served.filter((o): o is SubscriptionResource => o.kind === 'Subscription'),
        idpAssociations: served.filter(
          (o): o is IdpAssociationResource => o.kind === 'IdpAssociation',
        ),
        secrets: served.filter((o): o is SecretResource => o.kind === 'Secret'),
        configMaps,
        openapi,
        objects,
        problems,
      };
    },
  };
}

function documentText(
  api: ApiResource,
  configMaps: readonly ConfigMapResource[],
): { text: string } | { missing: string } {
  const { inline, configMapRef } = api.spec.openapi;
  if (inline !== undefined) return { text: inline };
  if (configMapRef === undefined) return { missing: 'spec.openapi names no document' };
  const { namespace } = api.metadata;
  const configMap = configMaps.find(
    (c) => c.metadata.namespace === namespace && c.metadata.name === configMapRef.name,
  );
  if (!configMap) {
    return { missing: `ConfigMap ${namespace}/${configMapRef.name} not found in the config dir` };
  }
  const text = configMap.data?.[configMapRef.key];
  if (text === undefined) {
    return {
      missing: `ConfigMap ${namespace}/${configMapRef.name} has no key ${configMapRef.key}`,
    };
  }
  return { text };
}
