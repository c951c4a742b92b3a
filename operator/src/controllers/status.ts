/**
 * The status controller (key: `Kind/namespace/name`): writes `status` of an Apiway object from
 * the compile results, the gateways' reports and (for a Subscription) the credentials
 * controller's outcome, (for an IdpAssociation) the IdP logins controller's outcome and the IdP
 * health the gateways report. The decisions are in status/object-status.ts and
 * status/idp-discovery.ts; this does the I/O.
 *
 * It writes nothing while the object's current generation has not been compiled yet (or, for a
 * Subscription, its credentials not provisioned for it; for an IdpAssociation with a
 * `login.clientSecretRef`, its secret not copied for it): the snapshot, credentials and IdP
 * logins controllers queue the key again when they have. Status goes to the status subresource by
 * server-side apply (field manager `apiway-operator`), and only when it changed.
 */

import { resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import {
  API_GROUP,
  API_VERSION,
  type ApiwayResource,
  type Condition,
  type IdpAssociationResource,
  type SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';
import type { GatewayReport } from '../gateways/gateway-reports.ts';
import type { LoginSecretOutcome } from '../idp/login-secrets.ts';
import { type Cache, PLURALS } from '../kube/caches.ts';
import type { CompiledResults } from '../snapshot/compiled-results.ts';
import type { SnapshotHistory } from '../snapshot/history.ts';
import { foldDiscovery } from '../status/idp-discovery.ts';
import {
  acceptedCondition,
  countReplicas,
  desiredStatus,
  readyCondition,
  sameStatus,
} from '../status/object-status.ts';
import { parseStatusKey } from '../status/status-key.ts';
import { type ControllerContext, FIELD_MANAGER } from './context.ts';
import type { CredentialOutcome } from './credentials.ts';
import { NO_ENVIRONMENT } from './snapshot.ts';

export function createStatusController(
  ctx: ControllerContext & {
    results: CompiledResults;
    history: SnapshotHistory;
    /** Ready gateway replicas of an environment (fresh reports that serve a snapshot). */
    readyReplicas: (environment: string) => readonly GatewayReport[];
    credentialOutcome: (subscriptionKey: string) => CredentialOutcome | undefined;
    loginSecretOutcome: (idpAssociationKey: string) => LoginSecretOutcome | undefined;
  },
): { reconcile(key: string): Promise<void> } {
  const cacheOf = (kind: ApiwayResource['kind']): Cache<ApiwayResource> =>
    ({
      Api: ctx.caches.apis,
      Product: ctx.caches.products,
      Subscription: ctx.caches.subscriptions,
      IdpAssociation: ctx.caches.idpAssociations,
    })[kind] as Cache<ApiwayResource>;

  return {
    async reconcile(key) {
      const parsed = parseStatusKey(key);
      if (!parsed) return;
      const { kind, namespace, name } = parsed;
      const object = cacheOf(kind).get(namespace, name);
      if (!object) return;
      const generation = object.metadata.generation ?? 1;
      const results = ctx.results.of(key);
      // Not compiled at this generation yet: the snapshot controller queues the key when it is.
      if (results.length === 0 || results.some((entry) => entry.result.generation !== generation))
        return;

      let accepted = acceptedCondition(generation, results);
      let extra: Record<string, unknown> = {};
      let conditions: Condition[] = [];
      if (kind === 'Subscription') {
        const subscription = object as SubscriptionResource;
        const existingSecret = subscription.spec.credentials?.existingSecret;
        const outcome = ctx.credentialOutcome(`${namespace}/${name}`);
        const current =
          outcome?.generation === generation && outcome.uid === subscription.metadata.uid;
        // Credentials not provisioned for this generation yet: the credentials controller queues the key.
        if (!current && existingSecret === undefined) return;
        if (current && outcome?.problem) {
          accepted = {
            type: 'Accepted',
            status: 'False',
            ...outcome.problem,
            observedGeneration: generation,
          };
        }
        extra = {
          secretName: existingSecret ?? outcome?.secretName,
          clientId:
            existingSecret === undefined && !outcome?.problem ? outcome?.clientId : undefined,
        };
      }

      if (kind === 'IdpAssociation') {
        const association = object as IdpAssociationResource;
        if (association.spec.login?.clientSecretRef) {
          const outcome = ctx.loginSecretOutcome(`${namespace}/${name}`);
          // Not copied for this generation yet: the IdP logins controller queues the key.
          if (outcome?.generation !== generation || outcome.uid !== association.metadata.uid)
            return;
          if (outcome.problem && accepted.status === 'True') {
            accepted = {
              type: 'Accepted',
              status: 'False',
              ...outcome.problem,
              observedGeneration: generation,
            };
          }
        }
        const environment = association.spec.environment;
        const folded = foldDiscovery(
          { generation, id: `${namespace}/${name}`, issuer: association.spec.issuer, environment },
          ctx.readyReplicas(environment),
        );
        conditions = [folded.condition];
        extra = { discovery: folded.discovery };
      }

      const environments = results
        .map((entry) => entry.environment)
        .filter((env) => env !== NO_ENVIRONMENT);
      const counts = countReplicas(
        generation,
        environments,
        ctx.readyReplicas,
        (environment, version) => ctx.history.generationIn(environment, version, key),
      );
      const ready = readyCondition(generation, accepted, counts, environments);
      const current = object.status as Record<string, unknown> | undefined;
      const status = desiredStatus(
        kind,
        object.status,
        {
          generation,
          accepted,
          ready,
          counts,
          details: results[0]?.result.details ?? {},
          extra,
          conditions,
        },
        ctx.now(),
      );
      if (sameStatus(kind, current, status)) return;

      await ctx.client.apply(
        resourcePath({
          group: API_GROUP,
          version: 'v1alpha1',
          resource: PLURALS[kind],
          namespace,
          name,
          subresource: 'status',
        }),
        { apiVersion: API_VERSION, kind, metadata: { name, namespace }, status } as never,
        { fieldManager: FIELD_MANAGER, force: true },
      );
      ctx.metrics.statusWrites.inc({ kind });

      const before = (object.status?.conditions ?? []).find(
        (c: Condition) => c.type === 'Accepted',
      );
      if (
        accepted.status === 'False' &&
        (before?.status !== 'False' || before.reason !== accepted.reason)
      ) {
        ctx.events.record(object, 'Warning', accepted.reason, accepted.message);
      }
    },
  };
}
