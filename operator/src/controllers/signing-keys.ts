/**
 * The signing-keys controller (key: environment): keeps the Secret
 * `apiway-signing-keys-<env>` in the system namespace holding the environment's SigningKeySet
 * (`keys.json`), rotated as `planRotation` decides (signing/rotation.ts). Only the operator and
 * that environment's gateways may read it.
 *
 * Read with a GET and written with create / an update carrying its resourceVersion, so two
 * operator replicas (or a restart mid-rotation) can never both generate keys: the loser's write
 * fails and its retry reads the winner's keys. A Secret whose `keys.json` cannot be read is not
 * replaced (that would invalidate every live token): the error is logged and retried.
 */

import type { V1Secret } from '@kubernetes/client-node';
import { KubeApiError, resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import {
  MANAGED_BY_LABEL,
  OPERATOR_NAME,
  SIGNING_KEYS_DATA_KEY,
  SIGNING_KEYS_ENVIRONMENT_LABEL,
  signingKeysSecretName,
} from '../../../gateway/src/kubernetes/names.ts';
import { readSigningKeys } from '../../../gateway/src/kubernetes/read-signing-keys.ts';
import type {
  SigningAlgorithm,
  SigningKey,
  SigningKeySet,
} from '../../../gateway/src/oauth/signing-keys.ts';
import {
  applyRotation,
  planRotation,
  type RotationPolicy,
  type RotationStep,
} from '../signing/rotation.ts';
import type { ControllerContext } from './context.ts';

export type GenerateSigningKey = (
  alg: SigningAlgorithm,
  state: SigningKey['state'],
) => Promise<SigningKey>;

/** Longest wait between looks at an environment's keys (timers cannot wait 30 days). */
const MAX_RECHECK_MS = 3_600_000;

export function createSigningKeysController(
  ctx: ControllerContext & {
    policy: RotationPolicy;
    generate: GenerateSigningKey;
    /** Whether every ready gateway of `environment` publishes `kid` in its JWKS. */
    publishedEverywhere: (environment: string, kid: string) => boolean;
    requeueAfter: (environment: string, delayMs: number) => void;
  },
): { reconcile(environment: string): Promise<void> } {
  return {
    async reconcile(environment) {
      const name = signingKeysSecretName(environment);
      const path = resourcePath({
        version: 'v1',
        resource: 'secrets',
        namespace: ctx.systemNamespace,
        name,
      });
      const logger = ctx.logger.child({ controller: 'signing-keys', environment });
      const existing = await ctx.client.get<V1Secret>(path);
      let current: SigningKeySet = { keys: [] };
      if (existing?.data?.[SIGNING_KEYS_DATA_KEY] !== undefined) {
        const read = readSigningKeys(existing, name);
        if (!read.ok)
          throw new Error(`${read.message}; not replacing it (fix or delete the Secret)`);
        current = read.keys;
      }

      const now = ctx.now();
      const plan = planRotation(current, now, ctx.policy, (kid) =>
        ctx.publishedEverywhere(environment, kid),
      );
      if (plan.steps.length > 0) {
        const created = new Map<RotationStep, SigningKey>();
        for (const step of plan.steps) {
          if (step.action === 'create') created.set(step, await ctx.generate(step.alg, step.state));
        }
        const next = applyRotation(current, plan.steps, now, ctx.policy, created);
        const body: V1Secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: {
            ...(existing?.metadata?.resourceVersion
              ? { resourceVersion: existing.metadata.resourceVersion }
              : {}),
            name,
            namespace: ctx.systemNamespace,
            labels: {
              ...(existing?.metadata?.labels ?? {}),
              [MANAGED_BY_LABEL]: OPERATOR_NAME,
              [SIGNING_KEYS_ENVIRONMENT_LABEL]: environment,
            },
            ...(existing?.metadata?.annotations
              ? { annotations: existing.metadata.annotations }
              : {}),
          },
          data: {
            [SIGNING_KEYS_DATA_KEY]: Buffer.from(JSON.stringify(next), 'utf8').toString('base64'),
          },
        };
        try {
          if (existing) await ctx.client.replace(path, body);
          else
            await ctx.client.create(
              resourcePath({ version: 'v1', resource: 'secrets', namespace: ctx.systemNamespace }),
              body,
            );
        } catch (error) {
          if (error instanceof KubeApiError && error.status === 409) {
            throw new Error(`Secret ${ctx.systemNamespace}/${name} changed meanwhile; retrying`);
          }
          throw error;
        }
        // Which keys changed, by kid and state: never any key material.
        logger.info(
          {
            steps: plan.steps.map((step) =>
              'kid' in step ? `${step.action}:${step.kid}` : `create:${step.alg}:${step.state}`,
            ),
          },
          'signing keys updated',
        );
      }
      if (plan.recheckAt) {
        ctx.requeueAfter(
          environment,
          Math.min(MAX_RECHECK_MS, Math.max(0, plan.recheckAt.getTime() - now.getTime()) + 100),
        );
      }
    },
  };
}
