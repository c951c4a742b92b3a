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
  type GatewayFixture,
  type GatewayProcess,
  RS_BASE_PATH,
  startGateway,
  TOKEN_REQUEST_BODY,
  writeGatewayFixture,
} from './lib/gateway-fixture.ts';
import { runLoad } from './lib/load.ts';
import { medianBy } from './lib/median.ts';
import { startCpuMeter } from './lib/proc.ts';

export interface TokenEndpointOptions {
  dir: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  consumers: number;
  /** Rounds, each measuring every gateway once; per figure the median round is reported. */
  repeats?: number;
  ticksPerSecond: number;
  log: (line: string) => void;
  /** Another build's `gateway/src/main.ts`: measured too (`baseline`), alternating with this one. */
  baselineMain?: string;
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
  /** With `baselineMain`: the other build, measured in the same rounds. */
  baseline?: { ES256: TokenFigures; RS256: TokenFigures };
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
  const gateways: Array<{ label: string; gateway: GatewayProcess; fixture: GatewayFixture }> = [];
  try {
    gateways.push({ label: '', gateway: await startGateway(fixture), fixture });
    if (options.baselineMain) {
      const own = await writeGatewayFixture({
        dir: join(options.dir, 'base-token-gateway'),
        upstreamOrigin: 'http://127.0.0.1:9',
        consumers: options.consumers,
        rateLimited: false,
      });
      const gateway = await startGateway(own, { main: options.baselineMain });
      gateways.push({ label: 'base:', gateway, fixture: own });
    }
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
    const measure = async (
      name: string,
      gateway: GatewayProcess,
      requests: AutocannonRequest[],
      warmUp: boolean,
    ): Promise<TokenFigures> => {
      const common = { origin: gateway.origin, connections: options.connections, requests };
      if (warmUp) await runLoad({ ...common, durationSeconds: options.warmupSeconds });
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
        `  ${name.padEnd(13)} ${figures.tokens_per_second.toFixed(0).padStart(6)} tokens/s  ${figures.tokens_per_cpu_second.toFixed(0).padStart(6)} tokens/CPU-s  p99 ${figures.p99_ms.toFixed(2)} ms${figures.non_2xx + figures.errors > 0 ? `  !! ${figures.non_2xx} non-2xx, ${figures.errors} errors` : ''}`,
      );
      return figures;
    };
    // Each fixture has its own random credentials: requests are built per gateway.
    const rounds = new Map<string, TokenFigures[]>();
    const repeats = Math.max(1, options.repeats ?? 1);
    for (let round = 0; round < repeats; round++) {
      for (const alg of ['ES256', 'RS256'] as const) {
        for (const { label, gateway, fixture: own } of gateways) {
          const requests =
            alg === 'ES256'
              ? requestsFor(BASE_PATH, own.consumers)
              : requestsFor(RS_BASE_PATH, [own.rsConsumer]);
          const figures = await measure(`${label}${alg}`, gateway, requests, round === 0);
          const key = `${label}${alg}`;
          rounds.set(key, [...(rounds.get(key) ?? []), figures]);
        }
      }
    }
    const median = (key: string): TokenFigures =>
      medianBy(rounds.get(key) ?? [], (figures) => figures.tokens_per_cpu_second);
    return {
      ES256: median('ES256'),
      RS256: median('RS256'),
      connections: options.connections,
      duration_s: options.durationSeconds,
      ...(options.baselineMain
        ? { baseline: { ES256: median('base:ES256'), RS256: median('base:RS256') } }
        : {}),
    };
  } finally {
    for (const { gateway } of gateways) await gateway.stop();
  }
}
