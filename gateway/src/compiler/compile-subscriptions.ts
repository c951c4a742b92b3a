/**
 * One Subscription → its credential: the target resolved, the platform team's rules applied
 * (who may subscribe, which scopes may be granted), one grant per served member Api, and only
 * hashes of the credential values still valid. A Subscription that is not Accepted gets no
 * credential at all: nothing is granted on a guess.
 */

import type {
  ProductResource,
  SecretResource,
  SubscribersSpec,
  SubscriptionResource,
} from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import type {
  RateLimitRule,
  SnapshotApi,
  SnapshotCredential,
  SnapshotGrant,
} from '../snapshot/schema.ts';
import type { ApiLookup, CompiledProduct } from './compile-products.ts';
import type { Problem } from './conditions.ts';
import {
  credentialsFromSecret,
  hashLiveSecrets,
  MIN_SECRET_LENGTH,
  SECRET_KEYS,
} from './credentials.ts';
import { codeUnitOrder } from './path-precedence.ts';
import { rateLimitRules } from './rate-limits.ts';
import { namespaceAllowed, referenceKey } from './references.ts';
import type { IssuedCredentials, IssuedSecret } from './types.ts';

export interface SubscriptionContext {
  apis: ApiLookup;
  /** Every Product, in any environment. */
  products: ReadonlyMap<string, ProductResource>;
  /** The Products compiled for this environment. */
  compiledProducts: ReadonlyMap<string, CompiledProduct>;
  /** By "namespace/name". */
  secrets: ReadonlyMap<string, SecretResource>;
  issued: ReadonlyMap<string, IssuedCredentials>;
  now: Date;
}

export interface CompiledSubscription {
  resource: SubscriptionResource;
  problems: Problem[];
  notes: string[];
  details: Record<string, unknown>;
  /** Present when Accepted and its values exist (issued, or read from `existingSecret`). */
  credential?: SnapshotCredential;
  /** Hashes of every live API key, kept even when suspended: they stay reserved to this Subscription. */
  apiKeyHashes: string[];
}

interface Target {
  kind: 'Api' | 'Product';
  key: string;
  namespace: string;
  subscribers: SubscribersSpec | undefined;
}

export function compileSubscription(
  resource: SubscriptionResource,
  context: SubscriptionContext,
): CompiledSubscription {
  const meta = resource.metadata;
  const id = objectKey(meta);
  const spec = resource.spec;
  const environment = context.apis.environment;
  const result: CompiledSubscription = {
    resource,
    problems: [],
    notes: [],
    details: {},
    apiKeyHashes: [],
  };
  const fail = (reason: Problem['reason'], message: string) => {
    result.problems.push({ reason, message });
    return result;
  };

  if ((spec.api === undefined) === (spec.product === undefined)) {
    return fail('InvalidSpec', 'spec must set exactly one of api and product');
  }

  // The target, checked in the order a person fixes things: exists, may I, does it serve.
  let target: Target;
  let members: SnapshotApi[];
  let productRules: RateLimitRule[] = [];
  let productId: string | undefined;
  if (spec.api) {
    const key = referenceKey(spec.api, meta);
    const api = context.apis.resources.get(key);
    if (!api) return fail('ApiNotFound', `Api ${key} not found`);
    target = {
      kind: 'Api',
      key,
      namespace: api.metadata.namespace,
      subscribers: api.spec.subscribers,
    };
    if (!namespaceAllowed(target.subscribers, target.namespace, meta.namespace))
      return notAllowed(target);
    const served = context.apis.served.get(key);
    if (!served) {
      const rejected = context.apis.rejected.get(key);
      return rejected
        ? fail('ApiNotAccepted', `Api ${key} is not Accepted (${rejected})`)
        : fail('ApiNotFound', `Api ${key} is not served in environment ${environment}`);
    }
    members = [served];
  } else {
    const key = referenceKey(spec.product as NonNullable<typeof spec.product>, meta);
    const product = context.products.get(key);
    if (!product) return fail('ProductNotFound', `Product ${key} not found`);
    target = {
      kind: 'Product',
      key,
      namespace: product.metadata.namespace,
      subscribers: product.spec.subscribers,
    };
    if (!namespaceAllowed(target.subscribers, target.namespace, meta.namespace))
      return notAllowed(target);
    const compiled = context.compiledProducts.get(key);
    if (!compiled || compiled.members.length === 0) {
      return fail(
        'ProductNotAccepted',
        `Product ${key} serves no Api in environment ${environment}`,
      );
    }
    members = compiled.members;
    productRules = compiled.rateLimit;
    productId = compiled.id;
  }

  // Scopes: undeclared ones are dropped (an OpenAPI document may stop declaring a scope without
  // breaking every Subscription that named it); declared ones outside what the target allows
  // are an error, so a consumer learns at once it asked for more than it may have.
  const declared = new Set(members.flatMap((api) => api.declaredScopes));
  const allowedList = target.subscribers?.scopes;
  const allowed = Array.isArray(allowedList) ? new Set(allowedList) : declared;
  if (spec.scopes !== undefined && !isStringList(spec.scopes)) {
    return fail('InvalidSpec', 'spec.scopes must be a list of strings');
  }
  const requested = spec.scopes === undefined ? undefined : [...new Set(spec.scopes)];
  const dropped = (requested ?? []).filter((scope) => !declared.has(scope)).sort(codeUnitOrder);
  const wanted = requested
    ? requested.filter((scope) => declared.has(scope))
    : [...declared].filter((scope) => allowed.has(scope));
  const refused = wanted.filter((scope) => !allowed.has(scope)).sort(codeUnitOrder);
  if (refused.length > 0) {
    result.problems.push({
      reason: 'ScopeNotAllowed',
      message:
        `${target.kind} ${target.key} does not allow scope${refused.length > 1 ? 's' : ''} ${refused.join(', ')} ` +
        `(it may grant: ${
          [...declared]
            .filter((scope) => allowed.has(scope))
            .sort(codeUnitOrder)
            .join(', ') || 'none'
        })`,
    });
  }
  if (dropped.length > 0) {
    const where =
      target.kind === 'Api'
        ? `Api ${target.key} does not declare`
        : `no Api of Product ${target.key} declares`;
    result.notes.push(`ignored scopes that ${where}: ${dropped.join(', ')}`);
    result.details.droppedScopes = dropped;
  }

  // Every limit that applies is enforced (SPEC.md): the Subscription's own limits add to the
  // Api's and the Product's, never replace them. A Subscription lives in the consumer's
  // namespace, so letting it replace the platform team's limits would let a consumer raise its
  // own; a higher limit for one consumer is a Product (a plan) of its own.
  let subscriptionRules: RateLimitRule[] = [];
  if (spec.rateLimit !== undefined) {
    const rules = rateLimitRules(spec.rateLimit, 'subscription', id, 'spec.rateLimit');
    if ('problem' in rules) result.problems.push({ reason: 'InvalidSpec', message: rules.problem });
    else subscriptionRules = rules.rules;
  }

  const options = spec.credentials ?? {};
  const clientCredentials = options.clientCredentials ?? true;
  const apiKey = options.apiKey ?? true;
  const codeFlow = options.authorizationCode;
  if (codeFlow !== undefined) {
    const uris = codeFlow.redirectUris;
    if (
      !isStringList(uris) ||
      uris.length === 0 ||
      uris.some((uri) => !URL.canParse(uri) || uri.includes('#'))
    ) {
      result.problems.push({
        reason: 'InvalidSpec',
        message:
          'spec.credentials.authorizationCode.redirectUris must list absolute URLs without a fragment',
      });
    }
  }
  const needsClientSecret =
    clientCredentials || (codeFlow !== undefined && codeFlow.public !== true);

  let values: IssuedCredentials | undefined;
  if (options.existingSecret !== undefined) {
    const secretKey = `${meta.namespace}/${options.existingSecret}`;
    const secret = context.secrets.get(secretKey);
    if (!secret) {
      result.problems.push({
        reason: 'SecretNotFound',
        message: `Secret ${secretKey} (spec.credentials.existingSecret) not found`,
      });
    } else {
      const read = fromExistingSecret(secret, id, {
        clientId: clientCredentials || codeFlow !== undefined,
        clientSecret: needsClientSecret,
        apiKey,
      });
      if ('problems' in read) result.problems.push(...read.problems);
      else {
        values = read.values;
        result.notes.push(...read.notes);
      }
    }
  } else {
    const issued = context.issued.get(id);
    if (issued && typeof issued.clientId === 'string' && issued.clientId !== '') values = issued;
  }

  if (result.problems.length > 0) return result;
  if (!values) {
    result.notes.push('its credentials are not issued yet');
    return result;
  }

  const grants: SnapshotGrant[] = members.map((api) => {
    // The Api's own `subscribers.scopes` bounds what any Product bundling it may grant.
    const apiAllowed = context.apis.resources.get(api.id)?.spec.subscribers?.scopes;
    const scopes = wanted
      .filter((scope) => api.declaredScopes.includes(scope))
      .filter((scope) => !Array.isArray(apiAllowed) || apiAllowed.includes(scope))
      .sort(codeUnitOrder);
    return {
      apiId: api.id,
      scopes,
      ...(productId !== undefined ? { productId } : {}),
      // Copies (a rule is four flat fields): the snapshot shares no object with its input.
      rateLimit: [...api.rateLimit, ...productRules, ...subscriptionRules].map((rule) => ({
        ...rule,
      })),
    };
  });
  grants.sort((a, b) => codeUnitOrder(a.apiId, b.apiId));

  const apiKeys = apiKey ? hashLiveSecrets(values.apiKeys ?? [], context.now) : [];
  result.apiKeyHashes = apiKeys.map((key) => key.sha256);
  const suspended = spec.suspended === true;
  result.credential = {
    id,
    namespace: meta.namespace,
    name: meta.name,
    clientId: values.clientId,
    // A suspended credential keeps its entry (the gateway can say why it refuses, and its client
    // id stays reserved) but holds nothing that could pass: no hash, no grant.
    clientSecrets:
      needsClientSecret && !suspended
        ? hashLiveSecrets(values.clientSecrets ?? [], context.now)
        : [],
    apiKeys: suspended ? [] : apiKeys,
    suspended,
    ...(values.tokensNotBefore !== undefined && !suspended
      ? { tokensNotBefore: values.tokensNotBefore }
      : {}),
    clientCredentials,
    apiKey,
    ...(codeFlow !== undefined
      ? {
          authorizationCode: {
            redirectUris: [...codeFlow.redirectUris],
            public: codeFlow.public === true,
          },
        }
      : {}),
    grants: suspended ? [] : grants,
  };
  if (suspended) result.notes.push('suspended: its API keys and tokens are refused');
  return result;

  function notAllowed(target: Target): CompiledSubscription {
    return fail(
      'NamespaceNotAllowed',
      `${target.kind} ${target.key} does not allow Subscriptions from namespace ${meta.namespace} (its spec.subscribers.namespaces)`,
    );
  }
}

/**
 * The credential values of an `existingSecret`, or what is wrong with it (naming keys, never
 * values). The Secret is the user's: whatever it holds is used, and what it lacks is reported in
 * a note rather than refusing the Subscription (a Secret with only `api_key` still gives a
 * working API key). Only a Secret that holds nothing usable, or undecodable data, is refused.
 */
function fromExistingSecret(
  secret: SecretResource,
  subscriptionId: string,
  needs: { clientId: boolean; clientSecret: boolean; apiKey: boolean },
): { values: IssuedCredentials; notes: string[] } | { problems: Problem[] } {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  const { values, invalidKeys } = credentialsFromSecret(secret);
  if (invalidKeys.length > 0) {
    return {
      problems: invalidKeys.map((key) => ({
        reason: 'SecretInvalid',
        message: `key ${key} of Secret ${name} is not valid base64`,
      })),
    };
  }
  const clientUsable = needs.clientId && values.clientId !== undefined;
  const secretUsable = needs.clientSecret && clientUsable && values.clientSecret !== undefined;
  const keyUsable = needs.apiKey && values.apiKey !== undefined;
  if (!secretUsable && !keyUsable && !(clientUsable && !needs.clientSecret)) {
    const wanted = [
      needs.clientId ? SECRET_KEYS.clientId : undefined,
      needs.clientSecret ? SECRET_KEYS.clientSecret : undefined,
      needs.apiKey ? SECRET_KEYS.apiKey : undefined,
    ].filter((key) => key !== undefined);
    return {
      problems: [
        {
          reason: 'SecretInvalid',
          message: `Secret ${name} holds no usable credential: it needs ${wanted.join(', ')}`,
        },
      ],
    };
  }
  const notes: string[] = [];
  const missing = [
    needs.clientSecret && !secretUsable
      ? `${SECRET_KEYS.clientId}/${SECRET_KEYS.clientSecret}`
      : undefined,
    needs.apiKey && !keyUsable ? SECRET_KEYS.apiKey : undefined,
  ].filter((key) => key !== undefined);
  if (missing.length > 0) notes.push(`Secret ${name} lacks ${missing.join(', ')}: not usable`);
  // Stored as a fast hash in every gateway's snapshot: a short value could be brute-forced from
  // a leaked snapshot. Said, not refused: it is the user's Secret and the user's choice.
  const short = (['clientSecret', 'apiKey', 'apiKeySecondary'] as const).filter(
    (field) => (values[field]?.length ?? MIN_SECRET_LENGTH) < MIN_SECRET_LENGTH,
  );
  if (short.length > 0) {
    notes.push(
      `${short.map((field) => SECRET_KEYS[field]).join(', ')} of Secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters; generated credentials are safer`,
    );
  }
  const secretValue = (value: string | undefined): IssuedSecret[] => (value ? [{ value }] : []);
  return {
    values: {
      // API keys alone need no client id: the Subscription's id names the consumer then.
      clientId: values.clientId ?? subscriptionId,
      clientSecrets: secretUsable ? secretValue(values.clientSecret) : [],
      apiKeys: keyUsable
        ? [...secretValue(values.apiKey), ...secretValue(values.apiKeySecondary)]
        : [],
    },
    notes,
  };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
