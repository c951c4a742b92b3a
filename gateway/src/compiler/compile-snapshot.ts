/**
 * The compiler: every Api, Product, Subscription and IdpAssociation of one environment (plus
 * the parsed OpenAPI documents, issued credentials and Secrets a gather step read) → the
 * snapshot its gateways enforce, and an `Accepted` result for each object. Pure and
 * deterministic: the same input in any order gives the same output, byte for byte.
 *
 * One bad object never breaks the others: it is left out (or, for a Product or IdpAssociation
 * with one unresolved member, served without that member) and its result says why.
 */

import type { ApiResource, ObjectMeta, ResourceKind } from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import type {
  IncludedObject,
  Snapshot,
  SnapshotApi,
  SnapshotCredential,
  SnapshotIdp,
} from '../snapshot/schema.ts';
import { SNAPSHOT_FORMAT } from '../snapshot/schema.ts';
import { snapshotVersion } from './canonical-json.ts';
import { type CompiledApi, compileApi } from './compile-api.ts';
import { compileIdpAssociation } from './compile-idps.ts';
import { type ApiLookup, type CompiledProduct, compileProduct } from './compile-products.ts';
import { type CompiledSubscription, compileSubscription } from './compile-subscriptions.ts';
import { acceptedCondition, type Problem } from './conditions.ts';
import { codeUnitOrder } from './path-precedence.ts';
import { belongsTo, compareByAge, environmentIndex, generationOf } from './references.ts';
import type { CompileInput, CompileOutput, ObjectResult } from './types.ts';

/**
 * Which objects this compile covers: Apis whose `environments` list this environment; Products,
 * Subscriptions reaching one of those Apis (directly or through a Product); IdpAssociations of
 * this environment. A Product or Subscription whose references reach no environment at all (a
 * missing target) is covered by every environment's compile, so its NotFound reaches its status.
 *
 * `snapshot.objects` lists the Accepted objects whose current generation the snapshot serves: a
 * Subscription whose credentials are not issued yet is Accepted but not listed (Ready waits).
 */
export function compileSnapshot(input: CompileInput): CompileOutput {
  const environment = input.environment;
  const apiResources = byKey(input.apis);
  const productResources = byKey(input.products);
  const environments = environmentIndex(apiResources, productResources);
  const results: ObjectResult[] = [];
  const objects: IncludedObject[] = [];
  const report = (
    kind: ResourceKind,
    meta: ObjectMeta,
    problems: readonly Problem[],
    included: boolean,
    details: Record<string, unknown> = {},
    notes: readonly string[] = [],
  ) => {
    const generation = generationOf(meta);
    const { namespace, name } = meta;
    results.push({
      kind,
      namespace,
      name,
      generation,
      conditions: [acceptedCondition(generation, problems, notes)],
      details,
    });
    if (problems.length === 0 && included) objects.push({ kind, namespace, name, generation });
  };

  // Apis, then who keeps a contested basePath: the oldest, whether or not the rest of it is
  // valid, so that a broken document never hands an Api's traffic to a newer one for a while.
  const apis = sortedByKey(input.apis).filter(
    (api) => Array.isArray(api.spec.environments) && api.spec.environments.includes(environment),
  );
  const compiledApis = new Map<string, CompiledApi>();
  for (const api of apis) {
    const key = objectKey(api.metadata);
    compiledApis.set(key, compileApi(api, input.openapi.get(key)));
  }
  const holders = new Map<string, ApiResource>();
  for (const api of [...apis].sort((a, b) => compareByAge(a.metadata, b.metadata))) {
    const compiled = compiledApis.get(objectKey(api.metadata)) as CompiledApi;
    if (compiled.basePath === undefined) continue;
    const holder = holders.get(compiled.basePath);
    if (!holder) {
      holders.set(compiled.basePath, api);
      continue;
    }
    compiled.problems.unshift({
      reason: 'BasePathConflict',
      message: `basePath ${compiled.basePath} is already claimed by Api ${objectKey(holder.metadata)}, which is older`,
    });
  }
  const served = new Map<string, SnapshotApi>();
  const rejected = new Map<string, string>();
  for (const [key, compiled] of compiledApis) {
    if (compiled.api && compiled.problems.length === 0) served.set(key, compiled.api);
    else rejected.set(key, compiled.problems[0]?.reason ?? 'OpenApiInvalid');
  }
  const lookup: ApiLookup = { environment, resources: apiResources, served, rejected };

  const compiledProducts = new Map<string, CompiledProduct>();
  for (const product of sortedByKey(input.products)) {
    const key = objectKey(product.metadata);
    if (!belongsTo(environments.ofProduct(key), environment)) continue;
    compiledProducts.set(key, compileProduct(product, lookup));
  }

  const idps: SnapshotIdp[] = [];
  for (const association of sortedByKey(input.idpAssociations)) {
    if (association.spec.environment !== environment) continue;
    const compiled = compileIdpAssociation(association, lookup);
    // An IdP trusted by no Api of this environment has nothing to do here (not even sign users
    // in: an Api's authorization endpoint uses the IdPs associated with that Api).
    const idp = compiled.idp && compiled.idp.apis.length > 0 ? compiled.idp : undefined;
    if (idp) {
      idps.push(idp);
      for (const apiId of idp.apis) served.get(apiId)?.idps.push(idp.id);
    }
    report('IdpAssociation', association.metadata, compiled.problems, idp !== undefined);
  }

  const compiledSubscriptions: CompiledSubscription[] = [];
  const secrets = new Map(input.secrets.map((secret) => [objectKey(secret.metadata), secret]));
  for (const subscription of sortedByKey(input.subscriptions)) {
    if (!belongsTo(environments.ofSubscription(subscription), environment)) continue;
    compiledSubscriptions.push(
      compileSubscription(subscription, {
        apis: lookup,
        products: productResources,
        compiledProducts,
        secrets,
        issued: input.issued,
        now: input.now,
      }),
    );
  }
  const credentials = claimCredentials(compiledSubscriptions);

  for (const api of apis) {
    const compiled = compiledApis.get(objectKey(api.metadata)) as CompiledApi;
    const defaulted = compiled.details.defaultSecuredOperations;
    const notes =
      typeof defaulted === 'number' && defaulted > 0 && compiled.problems.length === 0
        ? [
            `${defaulted} of ${compiled.details.operations} operations declare no security and require a credential of this Api`,
          ]
        : [];
    report('Api', api.metadata, compiled.problems, true, compiled.details, notes);
  }
  for (const product of compiledProducts.values()) {
    const servedMembers = product.members.map((api) => api.id);
    const notes =
      product.problems.length > 0 && servedMembers.length > 0
        ? [`still served: ${servedMembers.join(', ')}`]
        : [];
    report('Product', product.resource.metadata, product.problems, product.servable, {}, notes);
  }
  for (const subscription of compiledSubscriptions) {
    const { resource, problems, credential, details, notes } = subscription;
    report('Subscription', resource.metadata, problems, credential !== undefined, details, notes);
  }

  for (const api of served.values()) api.idps.sort(codeUnitOrder);
  const snapshot: Omit<Snapshot, 'version'> = {
    format: SNAPSHOT_FORMAT,
    environment,
    apis: [...served.values()].sort((a, b) => codeUnitOrder(a.id, b.id)),
    credentials: credentials.sort((a, b) => codeUnitOrder(a.id, b.id)),
    idps: idps.sort((a, b) => codeUnitOrder(a.id, b.id)),
    objects: objects.sort(compareObjects),
  };
  return {
    snapshot: { ...snapshot, version: snapshotVersion(snapshot) },
    results: results.sort(compareObjects),
  };
}

/**
 * A client id or an API key identifies one Subscription: the gateway looks credentials up by
 * them. When two Subscriptions hold the same one (two `existingSecret`s with the same values),
 * the older keeps it and the newer is refused, rather than letting one consumer act as another.
 */
function claimCredentials(subscriptions: readonly CompiledSubscription[]): SnapshotCredential[] {
  const clientIds = new Map<string, ObjectMeta>();
  const apiKeys = new Map<string, ObjectMeta>();
  const credentials: SnapshotCredential[] = [];
  const byAge = [...subscriptions].sort((a, b) =>
    compareByAge(a.resource.metadata, b.resource.metadata),
  );
  for (const subscription of byAge) {
    const credential = subscription.credential;
    if (!credential) continue;
    const meta = subscription.resource.metadata;
    const clientIdHolder = clientIds.get(credential.clientId);
    const apiKeyHolder = subscription.apiKeyHashes
      .map((hash) => apiKeys.get(hash))
      .find((holder) => holder);
    if (clientIdHolder || apiKeyHolder) {
      const name = (holder: ObjectMeta) =>
        // Another tenant's Subscription names are not this consumer's business.
        holder.namespace === meta.namespace
          ? `Subscription ${objectKey(holder)}`
          : 'a Subscription of another namespace';
      subscription.problems.push({
        reason: 'CredentialConflict',
        message: clientIdHolder
          ? `its client_id is already used by ${name(clientIdHolder)}`
          : `one of its API keys is already used by ${name(apiKeyHolder as ObjectMeta)}`,
      });
      delete subscription.credential;
      continue;
    }
    clientIds.set(credential.clientId, meta);
    for (const hash of subscription.apiKeyHashes) apiKeys.set(hash, meta);
    credentials.push(credential);
  }
  return credentials;
}

const KIND_ORDER: ResourceKind[] = ['Api', 'IdpAssociation', 'Product', 'Subscription'];

function compareObjects(
  a: { kind: ResourceKind; namespace: string; name: string },
  b: { kind: ResourceKind; namespace: string; name: string },
): number {
  return (
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    codeUnitOrder(a.namespace, b.namespace) ||
    codeUnitOrder(a.name, b.name)
  );
}

function byKey<T extends { metadata: ObjectMeta }>(items: readonly T[]): Map<string, T> {
  return new Map(sortedByKey(items).map((item) => [objectKey(item.metadata), item]));
}

function sortedByKey<T extends { metadata: ObjectMeta }>(items: readonly T[]): T[] {
  return [...items].sort(
    (a, b) =>
      codeUnitOrder(a.metadata.namespace, b.metadata.namespace) ||
      codeUnitOrder(a.metadata.name, b.metadata.name),
  );
}
