/**
 * The gateway the data-path and token-endpoint scenarios run against: the real `apiway-gateway`
 * process in standalone mode, serving a config dir generated here, the way a user writes one.
 *
 * - Api `bench/bench-api` (ES256 tokens) at /bench/v1 in front of the bench upstream, with one
 *   operation per credential kind: `GET /public` (security: []), `GET /keyed` (apiKey in the
 *   `x-api-key` header), `GET /scoped` (oauth2, scope read:items).
 * - Api `bench/bench-rs-api` (RS256 tokens) at /bench-rs/v1: only its token endpoint is used.
 * - `consumers` Subscriptions to each Api, with their credentials in `existingSecret`s (random
 *   per run, never printed), so the bench knows them without reading the state dir.
 * - With `rateLimited`, both Apis carry per-consumer limits (per second and per day) far above
 *   what any run can send: every request is counted, none is refused.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, freePort, startChild, waitForHttp } from './child.ts';

export const BASE_PATH = '/bench/v1';
export const RS_BASE_PATH = '/bench-rs/v1';

const MAIN = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));

export interface ConsumerCredentials {
  subscription: string;
  clientId: string;
  clientSecret: string;
  apiKey: string;
}

export interface GatewayFixtureOptions {
  /** Where `config/` and `state/` are written (a fresh temp dir). */
  dir: string;
  upstreamOrigin: string;
  consumers: number;
  rateLimited: boolean;
}

export interface GatewayFixture {
  configDir: string;
  stateDir: string;
  /** Subscriptions to bench-api. */
  consumers: ConsumerCredentials[];
  /** One Subscription to bench-rs-api. */
  rsConsumer: ConsumerCredentials;
}

const LIMITS = `
  rateLimit:
    limits:
      - {requests: 1000000000, period: 1s}
      - {requests: 1000000000000, period: 1d}`;

function apiYaml(options: {
  name: string;
  basePath: string;
  algorithm: 'ES256' | 'RS256';
  backend: string;
  rateLimited: boolean;
}): string {
  return `apiVersion: apiway.net/v1alpha1
kind: Api
metadata: {name: ${options.name}, namespace: bench}
spec:
  basePath: ${options.basePath}
  environments: [alpha]
  backend: {url: "${options.backend}", timeoutSeconds: 30}
  tokens: {signingAlgorithm: ${options.algorithm}, ttlSeconds: 3600}${options.rateLimited ? LIMITS : ''}
  openapi:
    inline: |
      openapi: 3.1.0
      info: {title: Bench API, version: 1.0.0}
      components:
        securitySchemes:
          oauth2:
            type: oauth2
            flows:
              clientCredentials:
                tokenUrl: http://127.0.0.1${options.basePath}/oauth2/v2/token
                scopes:
                  read:items: Read items
                  write:items: Write items
          apiKey: {type: apiKey, in: header, name: x-api-key}
      security:
        - oauth2: [read:items]
      paths:
        /public:
          get:
            security: []
            responses: {'200': {description: ok}}
        /keyed:
          get:
            security:
              - apiKey: []
            responses: {'200': {description: ok}}
        /scoped:
          get:
            security:
              - oauth2: [read:items]
            responses: {'200': {description: ok}}
        /items/{id}:
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          get:
            responses: {'200': {description: ok}}
`;
}

function subscriptionYaml(name: string, api: string, credentials: ConsumerCredentials): string {
  return `apiVersion: apiway.net/v1alpha1
kind: Subscription
metadata: {name: ${name}, namespace: bench}
spec:
  api: {name: ${api}}
  scopes: [read:items, write:items]
  credentials: {existingSecret: ${name}-credentials}
---
apiVersion: v1
kind: Secret
metadata: {name: ${name}-credentials, namespace: bench}
stringData:
  client_id: ${credentials.clientId}
  client_secret: ${credentials.clientSecret}
  api_key: ${credentials.apiKey}
`;
}

function newCredentials(subscription: string): ConsumerCredentials {
  const random = () => randomBytes(18).toString('base64url');
  return {
    subscription,
    clientId: `${subscription}-client`,
    clientSecret: `bench-secret-${random()}`,
    apiKey: `bench-key-${random()}`,
  };
}

export async function writeGatewayFixture(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const configDir = join(options.dir, 'config');
  const stateDir = join(options.dir, 'state');
  await mkdir(configDir, { recursive: true });
  await mkdir(stateDir, { recursive: true });
  const common = { backend: options.upstreamOrigin, rateLimited: options.rateLimited };
  await writeFile(
    join(configDir, 'bench-api.yaml'),
    apiYaml({ name: 'bench-api', basePath: BASE_PATH, algorithm: 'ES256', ...common }),
  );
  await writeFile(
    join(configDir, 'bench-rs-api.yaml'),
    apiYaml({ name: 'bench-rs-api', basePath: RS_BASE_PATH, algorithm: 'RS256', ...common }),
  );
  const consumers: ConsumerCredentials[] = [];
  const documents: string[] = [];
  for (let index = 0; index < options.consumers; index++) {
    const name = `consumer-${String(index).padStart(4, '0')}`;
    const credentials = newCredentials(name);
    consumers.push(credentials);
    documents.push(subscriptionYaml(name, 'bench-api', credentials));
  }
  const rsConsumer = newCredentials('rs-consumer');
  documents.push(subscriptionYaml('rs-consumer', 'bench-rs-api', rsConsumer));
  await writeFile(join(configDir, 'subscriptions.yaml'), documents.join('---\n'));
  return { configDir, stateDir, consumers, rsConsumer };
}

export interface GatewayProcess {
  child: Child;
  origin: string;
  adminOrigin: string;
  stop(): Promise<void>;
}

/**
 * The V8 flag the gateway runs with in production: the image's ENTRYPOINT (Dockerfile) and the
 * `apiway-gateway` command (gateway/bin/apiway-gateway.js) both cap the young generation at
 * 2 × 16 MiB. The bench starts `main.ts` directly (its `--cpu-prof` and `--baseline-gateway`
 * need that), so it passes the same flag: it measures the gateway users run.
 */
export const PRODUCTION_NODE_FLAGS = ['--max-semi-space-size=16'];

/**
 * Starts `apiway-gateway` on free ports and waits for `/readyz`. Its log (one JSON line per
 * request at the default level `info`, as a user runs it) goes to /dev/null: serialising it is
 * part of the cost measured, the disk is not. `nodeArgs` go before the script (e.g. --cpu-prof).
 * `main`: another build's `gateway/src/main.ts` (an A/B comparison); default: this tree's.
 */
export async function startGateway(
  fixture: GatewayFixture,
  options: { redisUrl?: string; nodeArgs?: string[]; cwd?: string; main?: string } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = startChild(
    process.execPath,
    [
      ...PRODUCTION_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      options.main ?? MAIN,
      '--config-dir',
      fixture.configDir,
      '--state-dir',
      fixture.stateDir,
      '--port',
      String(port),
      '--admin-port',
      String(adminPort),
      '--no-print-credentials',
      ...(options.redisUrl === undefined ? [] : ['--redis-url', options.redisUrl]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) },
  );
  const adminOrigin = `http://127.0.0.1:${adminPort}`;
  // The first start generates an RSA key: seconds on a busy machine.
  await waitForHttp(`${adminOrigin}/readyz`, child, 60_000);
  return {
    child,
    origin: `http://127.0.0.1:${port}`,
    adminOrigin,
    stop: () => child.stop('SIGTERM', 15_000),
  };
}

/** Basic credentials of a client, as RFC 6749 §2.3.1 encodes them. */
export function basicAuthorization(consumer: ConsumerCredentials): string {
  const pair = `${encodeURIComponent(consumer.clientId)}:${encodeURIComponent(consumer.clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

export const TOKEN_REQUEST_BODY = 'grant_type=client_credentials';

/** Mints `count` access tokens at `basePath`, spread over the consumers (round robin). */
export async function mintTokens(
  origin: string,
  basePath: string,
  consumers: readonly ConsumerCredentials[],
  count: number,
): Promise<string[]> {
  const tokens: string[] = [];
  const mintOne = async (index: number) => {
    const consumer = consumers[index % consumers.length] as ConsumerCredentials;
    const response = await fetch(`${origin}${basePath}/oauth2/v2/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(consumer),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: TOKEN_REQUEST_BODY,
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (response.status !== 200 || body.access_token === undefined) {
      throw new Error(`minting a token failed: ${response.status} ${body.error ?? ''}`);
    }
    tokens[index] = body.access_token;
  };
  const BATCH = 16;
  for (let start = 0; start < count; start += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, count - start) }, (_, i) => mintOne(start + i)),
    );
  }
  return tokens;
}
