/**
 * An in-process gateway for tests: `createGateway` behind real node:http servers on 127.0.0.1
 * (main and admin ports), its pino output captured line by line.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/src/app.ts';
import { generateSigningKey } from '../../gateway/src/oauth/keys.ts';
import type { SigningKeySet } from '../../gateway/src/oauth/signing-keys.ts';
import { createLogger } from '../../gateway/src/observability/logger.ts';
import type { RateLimiter } from '../../gateway/src/ratelimit/limiter.ts';
import { createMemoryLimiter } from '../../gateway/src/ratelimit/memory-store.ts';
import { TEST_ENVIRONMENT } from './snapshot-fixtures.ts';

export interface RunningGateway {
  gateway: Gateway;
  /** Main port, `http://127.0.0.1:<port>` (also the gateway's public URL). */
  url: string;
  adminUrl: string;
  registry: Registry;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  limiter?: RateLimiter;
  now?: () => Date;
  upstream?: GatewayOptions['upstream'];
  environment?: string;
  /** Authorization code flow and IdP options (issue 6), passed to `createGateway` as they are. */
  authorization?: Pick<GatewayOptions, 'authorizationStore' | 'idpFetch' | 'idpTiming'>;
}

export async function startGateway(options: StartGatewayOptions = {}): Promise<RunningGateway> {
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logs.push(line) },
  });
  const registry = new Registry();
  const limiter = options.limiter ?? createMemoryLimiter();
  const main = createServer();
  const admin = createServer();
  await Promise.all([listen(main), listen(admin)]);
  const url = `http://127.0.0.1:${(main.address() as AddressInfo).port}`;
  const gateway = createGateway({
    logger,
    registry,
    limiter,
    publicUrl: url,
    environment: options.environment ?? TEST_ENVIRONMENT,
    ...(options.now ? { now: options.now } : {}),
    ...(options.upstream ? { upstream: options.upstream } : {}),
    ...options.authorization,
  });
  main.on('request', (req, res) => void gateway.handleRequest(req, res));
  admin.on('request', (req, res) => void gateway.handleAdmin(req, res));
  return {
    gateway,
    url,
    adminUrl: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
    registry,
    logs,
    async close() {
      await Promise.all([stop(main), stop(admin)]);
      await gateway.close();
      await limiter.close();
    },
  };
}

/** An ES256 and an RS256 active key: enough to mint tokens for any Api. */
export async function testSigningKeys(): Promise<SigningKeySet> {
  return {
    keys: [
      await generateSigningKey('ES256', 'active'),
      await generateSigningKey('RS256', 'active'),
    ],
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A client-credentials token from the gateway's own token endpoint (as a client would get one). */
export async function requestToken(
  gatewayUrl: string,
  basePath: string,
  client: { clientId: string; secret: string },
  scope?: string,
): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.secret,
  });
  if (scope !== undefined) form.set('scope', scope);
  const response = await fetch(`${gatewayUrl}${basePath}/oauth2/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token)
    throw new Error(`token request failed: ${response.status}`);
  return body.access_token;
}
