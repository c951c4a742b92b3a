/**
 * Reads a golden case (`test/golden/<case>/in.yaml`) into a CompileInput, running the same
 * gather steps the operator and the standalone gateway run (OpenAPI parsing, ConfigMap lookup).
 *
 * Format: a multi-document YAML file. Leading comments set the compile:
 *   # environment: alpha            (default alpha)
 *   # now: 2026-01-01T00:00:00Z     (default 2026-01-01T00:00:00Z)
 * Documents: Api, Product, Subscription, IdpAssociation (apiway.net/v1alpha1), Secret and
 * ConfigMap (v1), and the test-only kind `IssuedCredentials` (what the gather step issued for
 * the Subscription of the same namespace/name):
 *   apiVersion: test.apiway.net/v1
 *   kind: IssuedCredentials
 *   metadata: {name: <subscription>, namespace: <its namespace>}
 *   clientId: ...
 *   clientSecrets: [{value: ..., expiresAt: ...}]
 *   apiKeys: [{value: ...}]
 */

import { parseAllDocuments } from 'yaml';
import { parseOpenApi } from '../../../gateway/src/compiler/parse-openapi.ts';
import type {
  CompileInput,
  IssuedCredentials,
  ParsedOpenApi,
} from '../../../gateway/src/compiler/types.ts';
import type {
  ApiResource,
  IdpAssociationResource,
  ObjectMeta,
  ProductResource,
  SecretResource,
  SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';
import { objectKey } from '../../../gateway/src/resources/types.ts';

interface ConfigMap {
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

export interface GoldenCase {
  input: CompileInput;
  /** Every credential value the case hands the compiler in plaintext: none may reach the snapshot. */
  plaintexts: string[];
}

export async function readGoldenCase(text: string): Promise<GoldenCase> {
  const header = (name: string) => new RegExp(`^#\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1];
  const documents = parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw document.errors[0];
    return document.toJS() as { kind?: string; metadata: ObjectMeta } & Record<string, unknown>;
  });
  const ofKind = <T>(kind: string) =>
    documents.filter((document) => document?.kind === kind) as T[];

  const apis = ofKind<ApiResource>('Api');
  const configMaps = new Map(
    ofKind<ConfigMap>('ConfigMap').map((map) => [objectKey(map.metadata), map]),
  );
  const openapi = new Map<string, ParsedOpenApi>();
  for (const api of apis) {
    openapi.set(objectKey(api.metadata), await gatherOpenApi(api, configMaps));
  }

  const secrets = ofKind<SecretResource>('Secret');
  const issuedDocuments = ofKind<IssuedCredentials & { metadata: ObjectMeta }>('IssuedCredentials');
  const issued = new Map<string, IssuedCredentials>(
    issuedDocuments.map(({ metadata, clientId, clientSecrets, apiKeys }) => [
      objectKey(metadata),
      { clientId, clientSecrets: clientSecrets ?? [], apiKeys: apiKeys ?? [] },
    ]),
  );
  const plaintexts = [
    ...issuedDocuments.flatMap((document) => [
      ...(document.clientSecrets ?? []),
      ...(document.apiKeys ?? []),
    ]),
  ].map((secret) => secret.value);
  for (const secret of secrets) {
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      if (key !== 'client_id') plaintexts.push(value);
    }
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      if (key !== 'client_id')
        plaintexts.push(value, Buffer.from(value, 'base64').toString('utf8'));
    }
  }

  return {
    input: {
      environment: header('environment') ?? 'alpha',
      apis,
      products: ofKind<ProductResource>('Product'),
      subscriptions: ofKind<SubscriptionResource>('Subscription'),
      idpAssociations: ofKind<IdpAssociationResource>('IdpAssociation'),
      secrets,
      openapi,
      issued,
      now: new Date(header('now') ?? '2026-01-01T00:00:00Z'),
    },
    plaintexts,
  };
}

/** What the gather step does for `spec.openapi`: the inline text, or the named ConfigMap key. */
async function gatherOpenApi(
  api: ApiResource,
  configMaps: ReadonlyMap<string, ConfigMap>,
): Promise<ParsedOpenApi> {
  const { inline, configMapRef } = api.spec.openapi ?? {};
  if (inline !== undefined) return parseOpenApi(inline);
  if (configMapRef === undefined) {
    return { ok: false, reason: 'OpenApiNotFound', message: 'spec.openapi names no document' };
  }
  const key = `${api.metadata.namespace}/${configMapRef.name}`;
  const text = configMaps.get(key)?.data?.[configMapRef.key];
  if (text === undefined) {
    return {
      ok: false,
      reason: 'OpenApiNotFound',
      message: `ConfigMap ${key} has no key ${configMapRef.key} (spec.openapi.configMapRef)`,
    };
  }
  return parseOpenApi(text);
}
