/**
 * Token endpoint: client-credentials access tokens minted per second, ES256 and RS256, by one
 * gateway process (`POST {basePath}/oauth2/v2/token`, HTTP Basic client authentication, the
 * clients of 100 Subscriptions in rotation).
 *
 * The gateway is single-threaded, so one process is one core: `tokens_per_second` is what that
 * process served, `tokens_per_cpu_second` what it minted per second of CPU it actually got
 * (the per-core figure that survives a shared machine, where the process rarely gets a whole
 * core).
 */

import { join } from 'node:path';
import type { AutocannonRequest } from 'autocannon';
import {
  BASE_PATH,
  basicAuthorization,
  type ConsumerCredentials,
  RS_BASE_PATH,
  startGateway,
  TOKEN_REQUEST_BODY,
  writeGatewayFixture,
} from './lib/gateway-fixture.ts';
import { runLoad } from './lib/load.ts';
import { startCpuMeter } from './lib/proc.ts';

export interface TokenEndpointOptions {
  dir: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  consumers: number;
  ticksPerSecond: number;
  log: (line: string) => void;
}

export interface TokenFigures {
  tokens_per_second: number;
  tokens_per_cpu_second: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms_per_token: number;
  non_2xx: number;
  errors: number;
}

export interface TokenEndpointResult {
  ES256: TokenFigures;
  RS256: TokenFigures;
  connections: number;
  duration_s: number;
}

export async function runTokenEndpoint(
  options: TokenEndpointOptions,
): Promise<TokenEndpointResult> {
  // Nothing is proxied: the backend URL is never called.
  const fixture = await writeGatewayFixture({
    dir: join(options.dir, 'token-gateway'),
    upstreamOrigin: 'http://127.0.0.1:9',
    consumers: options.consumers,
    rateLimited: false,
  });
  const gateway = await startGateway(fixture);
  try {
    const requestsFor = (basePath: string, consumers: readonly ConsumerCredentials[]) =>
      consumers.map(
        (consumer): AutocannonRequest => ({
          method: 'POST',
          path: `${basePath}/oauth2/v2/token`,
          headers: {
            authorization: basicAuthorization(consumer),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: TOKEN_REQUEST_BODY,
        }),
      );
    const measure = async (name: string, requests: AutocannonRequest[]): Promise<TokenFigures> => {
      const common = { origin: gateway.origin, connections: options.connections, requests };
      await runLoad({ ...common, durationSeconds: options.warmupSeconds });
      const meter = startCpuMeter([gateway.child.pid], options.ticksPerSecond);
      const load = await runLoad({ ...common, durationSeconds: options.durationSeconds });
      const cpuMs = meter.stop();
      const minted = load.rps * load.durationSeconds;
      const figures: TokenFigures = {
        tokens_per_second: load.rps,
        tokens_per_cpu_second: cpuMs > 0 ? minted / (cpuMs / 1000) : Number.NaN,
        p50_ms: load.p50Ms,
        p99_ms: load.p99Ms,
        cpu_ms_per_token: minted > 0 ? cpuMs / minted : Number.NaN,
        non_2xx: load.non2xx,
        errors: load.errors + load.timeouts,
      };
      options.log(
        `  ${name.padEnd(8)} ${figures.tokens_per_second.toFixed(0).padStart(6)} tokens/s  ${figures.tokens_per_cpu_second.toFixed(0).padStart(6)} tokens/CPU-s  p99 ${figures.p99_ms.toFixed(2)} ms${figures.non_2xx + figures.errors > 0 ? `  !! ${figures.non_2xx} non-2xx, ${figures.errors} errors` : ''}`,
      );
      return figures;
    };
    const ES256 = await measure('ES256', requestsFor(BASE_PATH, fixture.consumers));
    const RS256 = await measure('RS256', requestsFor(RS_BASE_PATH, [fixture.rsConsumer]));
    return {
      ES256,
      RS256,
      connections: options.connections,
      duration_s: options.durationSeconds,
    };
  } finally {
    await gateway.stop();
  }
}
