/**
 * `npm run bench -- --profile`: where the gateway's time goes. Runs the gateway under
 * `node --cpu-prof` through data-path scenarios (the same fixture as data-path.ts: `gw-apikey`,
 * `gw-apikey+redis`, `gw-jwt-same-token+redis`, `gw-jwt-distinct-tokens+redis`) and the ES256
 * token endpoint, then summarises each profile (self time by function and by area, inclusive
 * time of gateway functions). The raw `.cpuprofile` files are kept under bench/results/profiles/
 * (open them in Chrome DevTools or speedscope for a flame graph), the summaries (of the measured
 * load only, not start-up or warm-up) in bench/results/profile-latest.json.
 */

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AutocannonRequest } from 'autocannon';
import { startRedis } from '../test/support/redis-server.ts';
import { startChild } from './lib/child.ts';
import {
  type CpuProfile,
  formatCostLines,
  type ProfileSummary,
  summarizeProfile,
} from './lib/cpu-profile.ts';
import {
  BASE_PATH,
  basicAuthorization,
  type GatewayFixture,
  mintTokens,
  startGateway,
  TOKEN_REQUEST_BODY,
  writeGatewayFixture,
} from './lib/gateway-fixture.ts';
import { runLoad } from './lib/load.ts';

const UPSTREAM = fileURLToPath(new URL('./servers/upstream.ts', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

export interface ProfileOptions {
  dir: string;
  connections: number;
  durationSeconds: number;
  log: (line: string) => void;
  /** Only these scenarios (by name); default: all. */
  only?: readonly string[];
}

interface ProfiledScenario {
  name: string;
  redis: boolean;
  requests: (fixture: GatewayFixture, origin: string) => Promise<AutocannonRequest[]>;
}

/** The keys of every Subscription of the fixture, in rotation (as data-path.ts's `gw-apikey`). */
async function apiKeyRequests(fixture: GatewayFixture): Promise<AutocannonRequest[]> {
  return fixture.consumers.map((consumer) => ({
    method: 'GET',
    path: `${BASE_PATH}/keyed`,
    headers: { 'x-api-key': consumer.apiKey },
  }));
}

const SCENARIOS: ProfiledScenario[] = [
  {
    name: 'gw-apikey',
    redis: false,
    requests: apiKeyRequests,
  },
  {
    // Not a data-path scenario: the other goal the gateway's CPU decides (ES256 tokens per core).
    name: 'token-endpoint-es256',
    redis: false,
    requests: async (fixture) =>
      fixture.consumers.map((consumer) => ({
        method: 'POST',
        path: `${BASE_PATH}/oauth2/v2/token`,
        headers: {
          authorization: basicAuthorization(consumer),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: TOKEN_REQUEST_BODY,
      })),
  },
  {
    name: 'gw-apikey+redis',
    redis: true,
    requests: apiKeyRequests,
  },
  {
    name: 'gw-jwt-same-token+redis',
    redis: true,
    requests: async (fixture, origin) =>
      (await mintTokens(origin, BASE_PATH, fixture.consumers.slice(0, 1), 1)).map((token) => ({
        method: 'GET',
        path: `${BASE_PATH}/scoped`,
        headers: { authorization: `Bearer ${token}` },
      })),
  },
  {
    name: 'gw-jwt-distinct-tokens+redis',
    redis: true,
    requests: async (fixture, origin) =>
      (await mintTokens(origin, BASE_PATH, fixture.consumers, 1000)).map((token) => ({
        method: 'GET',
        path: `${BASE_PATH}/scoped`,
        headers: { authorization: `Bearer ${token}` },
      })),
  },
];

export async function runProfile(options: ProfileOptions): Promise<void> {
  const { log } = options;
  const profiles = join(RESULTS, 'profiles');
  await mkdir(profiles, { recursive: true });
  const upstream = startChild(process.execPath, [UPSTREAM, '0']);
  const redis = await startRedis();
  const summaries: Record<string, ProfileSummary & { rps: number }> = {};
  try {
    await upstream.waitForOutput((output) => /listening \d+/.test(output));
    const upstreamOrigin = `http://127.0.0.1:${/listening (\d+)/.exec(upstream.output())?.[1]}`;
    const chosen = SCENARIOS.filter((s) => !options.only || options.only.includes(s.name));
    for (const scenario of chosen) {
      const fixture = await writeGatewayFixture({
        dir: join(options.dir, `profile-${scenario.redis ? 'redis' : 'plain'}-${scenario.name}`),
        upstreamOrigin,
        consumers: 100,
        rateLimited: scenario.redis,
      });
      const profileDir = join(options.dir, `cpu-${scenario.name}`);
      const gateway = await startGateway(fixture, {
        nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir],
        ...(scenario.redis ? { redisUrl: redis.url } : {}),
      });
      let rps = 0;
      const window = { startUs: 0, endUs: 0 };
      try {
        const requests = await scenario.requests(fixture, gateway.origin);
        // A warm-up first: the profile summary covers the measured load only.
        await runLoad({
          origin: gateway.origin,
          connections: options.connections,
          durationSeconds: 2,
          requests,
        });
        window.startUs = Number(process.hrtime.bigint() / 1000n);
        const load = await runLoad({
          origin: gateway.origin,
          connections: options.connections,
          durationSeconds: options.durationSeconds,
          requests,
        });
        window.endUs = Number(process.hrtime.bigint() / 1000n);
        rps = load.rps;
        log(
          `\n== ${scenario.name} under --cpu-prof: ${load.rps.toFixed(0)} rps (profiling slows it)`,
        );
      } finally {
        await gateway.stop();
      }
      const [file] = (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile'));
      if (!file)
        throw new Error(`no profile written for ${scenario.name}:\n${gateway.child.output()}`);
      const text = await readFile(join(profileDir, file), 'utf8');
      const kept = join(profiles, `${scenario.name.replace(/\+/g, '-')}.cpuprofile`);
      await writeFile(kept, text);
      const summary = summarizeProfile(JSON.parse(text) as CpuProfile, 25, window);
      summaries[scenario.name] = { ...summary, rps };
      log(
        `  busy ${summary.busy_ms.toFixed(0)} ms, idle ${summary.idle_ms.toFixed(0)} ms; ${kept}`,
      );
      log(formatCostLines('self time by area:', summary.by_area.slice(0, 15)));
      log(formatCostLines('self time by function:', summary.top_self));
      log(
        formatCostLines(
          'charged to the innermost gateway function on the stack:',
          summary.by_gateway_function,
        ),
      );
      log(formatCostLines('gateway functions, including callees:', summary.top_inclusive_gateway));
    }
  } finally {
    await redis.stop();
    await upstream.stop();
  }
  await writeFile(join(RESULTS, 'profile-latest.json'), `${JSON.stringify(summaries, null, 2)}\n`);
  log('\nwrote bench/results/profile-latest.json');
}
