/**
 * The operator's gather step: from the informer caches (and the few objects it reads on
 * demand) to the compiler's input for one environment. The compiler itself is pure and shared
 * with standalone mode.
 *
 * - OpenAPI documents: inline, or the `configMapRef` ConfigMap (read through the
 *   ReferenceReader); parsed with `parseOpenApi`, cached by the sha256 of their text so an
 *   unchanged document is parsed once (entries no Api uses any more are dropped).
 * - Issued credentials: read back from each Subscription's credential Secret (`apiway.json`),
 *   only from a Secret this very Subscription (by uid) controls: a Secret left by a deleted
 *   Subscription of the same name never lends its values to the new one.
 * - `existingSecret` Secrets: through the ReferenceReader.
 */

import type { V1Secret } from '@kubernetes/client-node';
import {
  createOpenApiCache,
  type ParseOpenApi,
} from '../../../gateway/src/compiler/openapi-cache.ts';
import type {
  CompileInput,
  IssuedCredentials,
  ParsedOpenApi,
} from '../../../gateway/src/compiler/types.ts';
import { toIssuedCredentials } from '../../../gateway/src/credentials/issue-credentials.ts';
import {
  type ApiResource,
  type IdpAssociationResource,
  objectKey,
  type ProductResource,
  type SecretResource,
  type SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';
import {
  credentialSecretName,
  isControlledBy,
  readStoredCredentials,
} from '../credentials/credential-secret.ts';
import type { ReferenceReader } from './reference-reader.ts';

export interface GatherSources {
  apis: readonly ApiResource[];
  products: readonly ProductResource[];
  subscriptions: readonly SubscriptionResource[];
  idpAssociations: readonly IdpAssociationResource[];
  /** The credential Secret at namespace/name, from the informer cache. */
  credentialSecret(namespace: string, name: string): V1Secret | undefined;
  references: ReferenceReader;
}

export interface SnapshotGatherer {
  gather(environment: string, sources: GatherSources, now: Date): Promise<CompileInput>;
}

export function createSnapshotGatherer(parseOpenApi: ParseOpenApi): SnapshotGatherer {
  /** Shared by every environment's gather; bounded so documents no Api uses are forgotten. */
  const documents = createOpenApiCache(parseOpenApi);

  return {
    async gather(environment, sources, now) {
      const openapi = new Map<string, ParsedOpenApi>();
      const inEnvironment = sources.apis.filter((api) =>
        (api.spec.environments ?? []).includes(environment),
      );
      await Promise.all(
        inEnvironment.map(async (api) => {
          const source = await documentText(api, sources.references);
          if ('missing' in source) {
            openapi.set(objectKey(api.metadata), {
              ok: false,
              reason: 'OpenApiNotFound',
              message: source.missing,
            });
            return;
          }
          openapi.set(objectKey(api.metadata), await documents.parse(source.text));
        }),
      );
      documents.retain(2 * sources.apis.length + 16);

      const issued = new Map<string, IssuedCredentials>();
      const secrets: SecretResource[] = [];
      await Promise.all(
        sources.subscriptions.map(async (subscription) => {
          const { namespace, uid } = subscription.metadata;
          const existingSecret = subscription.spec.credentials?.existingSecret;
          if (existingSecret !== undefined) {
            const read = await sources.references.secret(namespace, existingSecret);
            if (read.found) secrets.push(toSecretResource(read.object, namespace, existingSecret));
            return;
          }
          const secret = sources.credentialSecret(namespace, credentialSecretName(subscription));
          if (!secret || !isControlledBy(secret, uid)) return;
          const stored = readStoredCredentials(secret);
          if (stored)
            issued.set(objectKey(subscription.metadata), toIssuedCredentials(stored, now));
        }),
      );

      return {
        environment,
        apis: [...sources.apis],
        products: [...sources.products],
        subscriptions: [...sources.subscriptions],
        idpAssociations: [...sources.idpAssociations],
        secrets: dedupe(secrets),
        openapi,
        issued,
        now,
      };
    },
  };
}

async function documentText(
  api: ApiResource,
  references: ReferenceReader,
): Promise<{ text: string } | { missing: string }> {
  const { inline, configMapRef } = api.spec.openapi ?? {};
  if (typeof inline === 'string') return { text: inline };
  if (!configMapRef)
    return { missing: 'spec.openapi names no document (set inline or configMapRef)' };
  const { namespace } = api.metadata;
  const read = await references.configMap(namespace, configMapRef.name);
  if (!read.found) return { missing: `${read.message} (spec.openapi.configMapRef)` };
  const text = read.object.data?.[configMapRef.key];
  if (text === undefined) {
    return {
      missing: `ConfigMap ${namespace}/${configMapRef.name} has no key ${configMapRef.key} (spec.openapi.configMapRef)`,
    };
  }
  return { text };
}

function toSecretResource(secret: V1Secret, namespace: string, name: string): SecretResource {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    ...(secret.data ? { data: secret.data } : {}),
  };
}

function dedupe(secrets: SecretResource[]): SecretResource[] {
  return [...new Map(secrets.map((secret) => [objectKey(secret.metadata), secret])).values()];
}
