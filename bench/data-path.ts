/**
 * Data path: requests per second, latency and CPU per request through each proxy, at a fixed
 * number of connections, every figure also as a ratio to the bare proxy measured in the same run.
 *
 *   upstream                the backend alone: the physical limit of one Node process here
 *   bare-proxy              node:http + one undici Pool: the least a Node proxy can do (baseline)
 *   nginx                   Debian's nginx, one worker, keep-alive upstream
 *   gw-public               the gateway, `security: []` operation
 *   gw-apikey               API key in `x-api-key`, keys of 100 Subscriptions in rotation
 *   gw-jwt-same-token       bearer token + scope check, one token repeated
 *   gw-jwt-distinct-tokens  the same, 1000 distinct tokens (100 Subscriptions) in rotation
 *   …+redis                 the same gateway scenarios with per-consumer rate limits counted
 *                           in a redis-server started for the run (limits never reached)
 *
 * CPU per request counts only the process under test (the proxy or gateway; the upstream for
 * `upstream`), from /proc: never the load generator, the upstream behind a proxy, or Redis
 * (theirs, and the whole machine's, are in the details). Then latency at fixed rates (requests
 * paced evenly, from a worker thread: lib/paced-load.ts says why): the bare proxy and the
 * gateway's JWT + Redis scenarios at half the bare proxy's peak, and each of those scenarios with
 * the bare proxy at half that scenario's own peak: how much the gateway adds at p99 when neither
 * is saturated.
 */

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AutocannonRequest } from 'autocannon';
import { type RedisServer, startRedis } from '../test/support/redis-server.ts';
import { type CorePlan, pinProcesses } from './lib/affinity.ts';
import { type Child, startChild } from './lib/child.ts';
import { BASE_PATH, mintTokens, startGateway, writeGatewayFixture } from './lib/gateway-fixture.ts';
import { type LoadResult, runLoad } from './lib/load.ts';
import { median, medianBy } from './lib/median.ts';
import { nginxBinary, startNginx } from './lib/nginx.ts';
import { startPacedLoadWorker } from './lib/paced-load.ts';
import {
  findDescendant,
  idleShare,
  type MachineCpu,
  ownCpuMs,
  startCpuMeter,
  startMachineCpuMeter,
} from './lib/proc.ts';
import { busyText, signed } from './lib/report.ts';
import { describeTail, type TailEpisodes } from './lib/tail-episodes.ts';

const UPSTREAM = fileURLToPath(new URL('./servers/upstream.ts', import.meta.url));
const BARE_PROXY = fileURLToPath(new URL('./servers/bare-proxy.ts', import.meta.url));

export interface DataPathOptions {
  /** A fresh temp dir for config dirs, nginx and state. */
  dir: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Rounds: each measures every scenario once; per scenario the median-rps round is reported. */
  repeats: number;
  consumers: number;
  distinctTokens: number;
  ticksPerSecond: number;
  log: (line: string) => void;
  /**
   * Another build's `gateway/src/main.ts`: its gateway scenarios run too, named `base:<name>`,
   * in the same rounds (an A/B comparison that the machine's drift cannot skew).
   */
  baselineMain?: string;
  /** Only these scenarios (the bare proxy, every ratio's baseline, always runs). */
  only?: readonly string[];
  /**
   * Every measured run at this fixed rate instead of as fast as possible: CPU per request is
   * then compared at the same throughput (for A/B runs; the goals need the peak rates).
   */
  rateRps?: number;
  /** Proxies under test on their own cores, everything else on the rest (lib/affinity.ts). */
  pin?: CorePlan;
}

/** One row of `scenarios` in results/latest.json: exactly the issue's shape. */
export interface ScenarioFigures {
  name: string;
  rps: number | null;
  p50_ms: number | null;
  p99_ms: number | null;
  cpu_ms_per_request: number | null;
  ratio_to_bare_proxy: number | null;
}

/** What else was seen for a scenario: the checks behind its figures. */
export interface ScenarioDetails {
  name: string;
  /** Why it was not measured. */
  skipped?: string;
  connections?: number;
  duration_s?: number;
  responses?: number;
  non_2xx?: number;
  errors?: number;
  status_codes?: Record<string, number>;
  max_ms?: number;
  /** rps of every measured run (the median one is reported). */
  runs_rps?: number[];
  cpu_ms?: number;
  /** redis-server's CPU per request, for `+redis` scenarios. */
  redis_cpu_ms_per_request?: number;
  /** The load generator's (this bench process's) CPU per request. */
  load_generator_cpu_ms_per_request?: number;
  /** Every process of the machine, per request: the measured one, Redis, the load generator,
   *  the upstream behind a proxy, the kernel and whatever else ran. */
  machine_cpu_ms_per_request?: number;
  /** The share of the machine's CPU left idle during the run. */
  machine_idle_share?: number;
  ratio_to_upstream?: number;
  /**
   * Gateway scenarios: the bare proxy run just before this scenario in each round (`roundPlan`),
   * which its ratio is taken against, and that run's figures in the round reported.
   */
  bare_proxy_alongside?: { runs_rps: number[]; rps: number; cpu_ms_per_request: number };
}

/** One run of a round: a scenario, or the bare proxy measured just before gateway scenario `alongside`. */
export interface PlannedRun {
  name: string;
  alongside?: string;
}

/** `gw-…` and `base:gw-…` (another build's, with `--baseline-gateway`). */
const isGatewayScenario = (name: string): boolean => /^(base:)?gw-/.test(name);

/**
 * The runs of one round, in order: every scenario once, and before each gateway scenario a run of
 * the bare proxy of its own. A ratio then compares two runs a few seconds apart. This machine's
 * speed drifts by half within a minute (a one-round quick run once measured the bare proxy in a
 * slow minute and the +redis gateways, 40 s later, in a fast one: 92% where three rounds gave
 * 56%); runs side by side share whatever minute they fall in. The bare proxy's own slot stays,
 * for the rows that are no gateway (upstream, nginx) and its own figures.
 */
export function roundPlan(names: readonly string[]): PlannedRun[] {
  const paired = names.includes('bare-proxy');
  return names.flatMap((name) =>
    paired && isGatewayScenario(name)
      ? [{ name: 'bare-proxy', alongside: name }, { name }]
      : [{ name }],
  );
}

export interface FixedRateBlock {
  /** What the rate is half of: `bare-proxy` or a gateway scenario's own peak. */
  half_of: string;
  rate_rps: number;
  /** The bare proxy first (the baseline), then the gateway scenario(s). */
  runs: FixedRateFigures[];
}

export interface FixedRateFigures {
  name: string;
  target_rps: number;
  achieved_rps: number;
  p50_ms: number;
  p99_ms: number;
  /** p99 minus the bare proxy's p99 at the same rate (in the same round). */
  added_p99_ms?: number;
  non_2xx: number;
  /** p99 of every round, when there were several (the median round is reported). */
  rounds_p99_ms?: number[];
  /**
   * The proxy's CPU over the run's wall time: 0.75 is three quarters of one core (its helper
   * threads count too). Its main thread cannot go past 1.
   */
  core_share: number;
  /** The share of the whole machine's CPU in use during the run, every process counted. */
  machine_busy_share: number;
  /** Whether the requests at the p99 or slower came in episodes or scattered. */
  tail_episodes?: TailEpisodes;
}

export interface DataPathResult {
  scenarios: ScenarioFigures[];
  details: ScenarioDetails[];
  /** Latency at fixed rates, or why it was not measured. */
  fixed_rate: FixedRateBlock[] | { skipped: string };
}

interface Target {
  origin: string;
  /** Processes whose CPU is the scenario's cost. */
  pids: number[];
  /** redis-server, whose CPU is reported apart. */
  redisPid?: number;
}

interface Scenario {
  name: string;
  target?: Target;
  requests: AutocannonRequest[];
  /** Why it cannot run here. */
  skipped?: string;
}

interface Run {
  load: LoadResult;
  /**
   * Wall time the CPU meters ran: longer than `load.durationSeconds`, which leaves out a paced
   * run's lead-in and a run's drain (the proxy works through both).
   */
  elapsedMs: number;
  cpuMs: number;
  redisCpuMs?: number;
  loadGeneratorCpuMs: number;
  machine: MachineCpu;
}

const GATEWAY_SCENARIOS = [
  'gw-public',
  'gw-apikey',
  'gw-jwt-same-token',
  'gw-jwt-distinct-tokens',
] as const;

/**
 * Every proxy runs at once (idle ones cost nothing) and the scenarios are measured in rounds,
 * each round every scenario once: on a shared machine the neighbours' load drifts over minutes,
 * and interleaving spreads that drift over all scenarios instead of favouring whichever ran in
 * a quiet minute. Within a round each gateway scenario follows a bare proxy run of its own
 * (`roundPlan`). Per scenario, the round with the median rps is reported; its ratio to the bare
 * proxy is the median of the per-round ratios, each against the bare proxy run just before it
 * (for a gateway) or the bare proxy's own run of that round (upstream, nginx).
 */
export async function runDataPath(options: DataPathOptions): Promise<DataPathResult> {
  const { log } = options;
  const stoppers: Array<() => Promise<void>> = [];
  try {
    const wanted = (name: string) =>
      !options.only ||
      name === 'bare-proxy' ||
      options.only.includes(name) ||
      options.only.includes(name.replace(/^base:/, ''));
    const allScenarios = await setUp(options, stoppers);
    const { pin } = options;
    if (pin) {
      // Back to every CPU when the data path is done (stoppers run last-in first-out): the areas
      // after it start their processes from this one, and would inherit its affinity.
      stoppers.unshift(async () => pinProcesses([process.pid], pin.all));
      // The whole tree first (this process is the load generator; the upstream and redis-server
      // are its children), then the proxies, every one of them, measured or idle, apart.
      pinProcesses([process.pid], pin.others);
      const proxies = allScenarios.flatMap((scenario) =>
        scenario.name === 'upstream' ? [] : (scenario.target?.pids ?? []),
      );
      pinProcesses(proxies, pin.proxies);
      log(
        `  pinned: proxies under test on CPUs ${pin.proxies}; load generator, upstream and Redis on ${pin.others}`,
      );
    }
    const scenarios = allScenarios.filter((scenario) => wanted(scenario.name));
    const runnable = scenarios.filter((scenario) => scenario.target && !scenario.skipped);
    const paced = startPacedLoadWorker();
    stoppers.push(() => paced.stop());
    const once = async (scenario: Scenario, seconds: number, overallRate?: number) => {
      const load = {
        origin: (scenario.target as Target).origin,
        connections: options.connections,
        durationSeconds: seconds,
        requests: scenario.requests,
      };
      return overallRate === undefined ? runLoad(load) : paced.run({ ...load, overallRate });
    };
    /** One measured run: its load, and the CPU the proxy, Redis, the bench and the machine spent. */
    const measured = async (scenario: Scenario, overallRate?: number): Promise<Run> => {
      const target = scenario.target as Target;
      const meter = startCpuMeter(target.pids, options.ticksPerSecond);
      const redisMeter =
        target.redisPid === undefined
          ? undefined
          : startCpuMeter([target.redisPid], options.ticksPerSecond);
      const machineMeter = startMachineCpuMeter(options.ticksPerSecond);
      const ownBefore = ownCpuMs();
      const startedMs = performance.now();
      const load = await once(scenario, options.durationSeconds, overallRate);
      const run: Run = {
        load,
        elapsedMs: performance.now() - startedMs,
        cpuMs: meter.stop(),
        loadGeneratorCpuMs: ownCpuMs() - ownBefore,
        machine: machineMeter.stop(),
      };
      if (redisMeter) run.redisCpuMs = redisMeter.stop();
      return run;
    };

    log(`  warm-up: ${options.warmupSeconds} s per scenario`);
    for (const scenario of runnable) await once(scenario, options.warmupSeconds, options.rateRps);
    const runs = new Map<string, Run[]>(runnable.map((scenario) => [scenario.name, []]));
    /** The bare proxy's runs just before each gateway scenario, by that scenario. */
    const alongside = new Map<string, Run[]>();
    const plan = roundPlan(runnable.map((scenario) => scenario.name));
    for (let round = 1; round <= options.repeats; round++) {
      if (options.repeats > 1) log(`  round ${round} of ${options.repeats}`);
      for (const { name, alongside: before } of plan) {
        const scenario = runnable.find((candidate) => candidate.name === name) as Scenario;
        const run = await measured(scenario, options.rateRps);
        if (before === undefined) runs.get(name)?.push(run);
        else alongside.set(before, [...(alongside.get(before) ?? []), run]);
        log(`    ${describeRun(before === undefined ? name : 'bare-proxy (paired)', run)}`);
      }
    }

    const bareRuns = runs.get('bare-proxy') ?? [];
    const upstreamRuns = runs.get('upstream') ?? [];
    const figures: ScenarioFigures[] = [];
    const details: ScenarioDetails[] = [];
    for (const scenario of scenarios) {
      const measured = runs.get(scenario.name);
      if (!measured || measured.length === 0) {
        figures.push({
          name: scenario.name,
          rps: null,
          p50_ms: null,
          p99_ms: null,
          cpu_ms_per_request: null,
          ratio_to_bare_proxy: null,
        });
        details.push({ name: scenario.name, skipped: scenario.skipped ?? 'not measured' });
        continue;
      }
      const ratioTo = (baseline: Run[]) =>
        baseline.length === measured.length
          ? median(measured.map((run, i) => run.load.rps / (baseline[i] as Run).load.rps))
          : undefined;
      const chosen = medianBy(measured, (run) => run.load.rps);
      const { load } = chosen;
      const perRequest = (ms: number) => perResponse(chosen, ms);
      const bareAlongside = alongside.get(scenario.name);
      figures.push({
        name: scenario.name,
        rps: load.rps,
        p50_ms: load.p50Ms,
        p99_ms: load.p99Ms,
        cpu_ms_per_request: perRequest(chosen.cpuMs),
        ratio_to_bare_proxy: ratioTo(bareAlongside ?? bareRuns) ?? null,
      });
      const detail: ScenarioDetails = {
        name: scenario.name,
        connections: options.connections,
        duration_s: load.durationSeconds,
        responses: load.responses,
        non_2xx: load.non2xx,
        errors: load.errors + load.timeouts,
        status_codes: load.statusCodes,
        max_ms: load.maxMs,
        runs_rps: measured.map((run) => run.load.rps),
        cpu_ms: chosen.cpuMs,
        load_generator_cpu_ms_per_request: perRequest(chosen.loadGeneratorCpuMs),
        machine_cpu_ms_per_request: perRequest(chosen.machine.busyMs),
        machine_idle_share: idleShare(chosen.machine),
      };
      if (chosen.redisCpuMs !== undefined) {
        detail.redis_cpu_ms_per_request = perRequest(chosen.redisCpuMs);
      }
      const toUpstream = ratioTo(upstreamRuns);
      if (toUpstream !== undefined) detail.ratio_to_upstream = toUpstream;
      const pairedBare = bareAlongside?.[measured.indexOf(chosen)];
      if (bareAlongside && pairedBare) {
        detail.bare_proxy_alongside = {
          runs_rps: bareAlongside.map((run) => run.load.rps),
          rps: pairedBare.load.rps,
          cpu_ms_per_request: perResponse(pairedBare, pairedBare.cpuMs),
        };
      }
      details.push(detail);
    }

    let fixed: DataPathResult['fixed_rate'] = {
      skipped: 'needs the bare proxy and the +redis gateway',
    };
    const byName = (name: string) => runnable.find((scenario) => scenario.name === name);
    const peak = (name: string) => figures.find((figure) => figure.name === name)?.rps ?? undefined;
    const bare = byName('bare-proxy');
    const jwt = ['gw-jwt-same-token+redis', 'gw-jwt-distinct-tokens+redis'].flatMap((name) => {
      const scenario = byName(name);
      const rps = peak(name);
      return scenario && rps ? [{ scenario, rps }] : [];
    });
    const bareRps = peak('bare-proxy');
    if (bare && bareRps && jwt.length > 0) {
      const atRate = (scenario: Scenario, rate: number) => measured(scenario, rate);
      // The paced generator's first run is its slowest (its code not yet optimised): not recorded.
      await once(bare, options.warmupSeconds, bareRps / 2);
      fixed = [
        await fixedRate(
          'bare-proxy',
          bareRps / 2,
          [bare, ...jwt.map((j) => j.scenario)],
          options.repeats,
          atRate,
          log,
        ),
      ];
      for (const { scenario, rps } of jwt) {
        fixed.push(
          await fixedRate(scenario.name, rps / 2, [bare, scenario], options.repeats, atRate, log),
        );
      }
    }
    return { scenarios: figures, details, fixed_rate: fixed };
  } finally {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
  }
}

/** Starts every process of the data path and lists the scenarios against them. */
async function setUp(
  options: DataPathOptions,
  stoppers: Array<() => Promise<void>>,
): Promise<Scenario[]> {
  const { log } = options;
  const scenarios: Scenario[] = [];
  const plain: AutocannonRequest[] = [{ method: 'GET', path: '/public' }];

  const upstream = await startServer(UPSTREAM, ['0']);
  stoppers.push(() => upstream.child.stop());
  const upstreamOrigin = upstream.origin;
  scenarios.push({
    name: 'upstream',
    target: { origin: upstreamOrigin, pids: [upstream.child.pid] },
    requests: plain,
  });

  const bare = await startServer(BARE_PROXY, ['0', upstreamOrigin]);
  stoppers.push(() => bare.child.stop());
  scenarios.push({
    name: 'bare-proxy',
    target: { origin: bare.origin, pids: [bare.child.pid] },
    requests: plain,
  });

  const nginx = nginxBinary();
  if (nginx === undefined) {
    scenarios.push({
      name: 'nginx',
      requests: plain,
      skipped: 'nginx is not installed (apt-get install -y nginx)',
    });
  } else {
    const proxy = await startNginx({
      binary: nginx,
      dir: join(options.dir, 'nginx'),
      upstreamOrigin,
    });
    stoppers.push(() => proxy.stop());
    scenarios.push({
      name: 'nginx',
      target: { origin: proxy.origin, pids: [proxy.child.pid] },
      requests: plain,
    });
  }

  const gatewayScenarios = async (
    rateLimited: boolean,
    redis?: RedisServer,
    baseline?: string,
  ): Promise<Scenario[]> => {
    const fixture = await writeGatewayFixture({
      dir: join(
        options.dir,
        `${baseline ? 'base-' : ''}${rateLimited ? 'gateway-redis' : 'gateway'}`,
      ),
      upstreamOrigin,
      consumers: options.consumers,
      rateLimited,
    });
    const gateway = await startGateway(fixture, {
      ...(redis ? { redisUrl: redis.url } : {}),
      ...(baseline ? { main: baseline } : {}),
    });
    stoppers.push(() => gateway.stop());
    const target: Target = { origin: gateway.origin, pids: [gateway.child.pid] };
    if (redis) {
      const redisPid = findDescendant(['redis-server', String(redis.port)]);
      if (redisPid !== undefined) target.redisPid = redisPid;
    }
    const tokens = await mintTokens(
      gateway.origin,
      BASE_PATH,
      fixture.consumers,
      options.distinctTokens,
    );
    log(
      `  ${baseline ? 'baseline ' : ''}gateway${redis ? ' +redis' : ''} ready, ${tokens.length} tokens minted`,
    );
    const bearer = (token: string): AutocannonRequest => ({
      method: 'GET',
      path: `${BASE_PATH}/scoped`,
      headers: { authorization: `Bearer ${token}` },
    });
    const suffix = redis ? '+redis' : '';
    const prefix = baseline ? 'base:' : '';
    return [
      {
        name: `${prefix}gw-public${suffix}`,
        target,
        requests: [{ method: 'GET', path: `${BASE_PATH}/public` }],
      },
      {
        name: `${prefix}gw-apikey${suffix}`,
        target,
        requests: fixture.consumers.map((consumer) => ({
          method: 'GET',
          path: `${BASE_PATH}/keyed`,
          headers: { 'x-api-key': consumer.apiKey },
        })),
      },
      {
        name: `${prefix}gw-jwt-same-token${suffix}`,
        target,
        requests: [bearer(tokens[0] as string)],
      },
      { name: `${prefix}gw-jwt-distinct-tokens${suffix}`, target, requests: tokens.map(bearer) },
    ];
  };
  scenarios.push(...(await gatewayScenarios(false)));
  if (options.baselineMain) {
    scenarios.push(...(await gatewayScenarios(false, undefined, options.baselineMain)));
  }

  let redis: RedisServer | undefined;
  try {
    redis = await startRedis();
  } catch (error) {
    for (const name of GATEWAY_SCENARIOS) {
      scenarios.push({ name: `${name}+redis`, requests: [], skipped: (error as Error).message });
    }
  }
  if (redis) {
    const running = redis;
    stoppers.push(() => running.stop());
    scenarios.push(...(await gatewayScenarios(true, redis)));
    if (options.baselineMain) {
      scenarios.push(...(await gatewayScenarios(true, redis, options.baselineMain)));
    }
  }
  return scenarios;
}

/** `ms` (of CPU) per response of `run`; NaN when nothing answered. */
function perResponse(run: Run, ms: number): number {
  return run.load.responses > 0 ? ms / run.load.responses : Number.NaN;
}

function describeRun(name: string, run: Run): string {
  const { load } = run;
  const perRequest = (ms: number) => perResponse(run, ms);
  const cpu = perRequest(run.cpuMs);
  const others = `machine ${perRequest(run.machine.busyMs).toFixed(3)} (load generator ${perRequest(run.loadGeneratorCpuMs).toFixed(3)}${run.redisCpuMs === undefined ? '' : `, redis ${perRequest(run.redisCpuMs).toFixed(3)}`}), idle ${(idleShare(run.machine) * 100).toFixed(0)}%`;
  const warning =
    load.non2xx + load.errors + load.timeouts > 0
      ? `  !! ${load.non2xx} non-2xx, ${load.errors} errors, ${load.timeouts} timeouts`
      : '';
  return `${name.padEnd(30)} ${load.rps.toFixed(0).padStart(7)} rps  p50 ${load.p50Ms.toFixed(2)} ms  p99 ${load.p99Ms.toFixed(2)} ms  cpu ${cpu.toFixed(3)} ms/req  ${others}${warning}`;
}

/**
 * Latency of each scenario at the same fixed rate; `added_p99_ms` against the first (the
 * baseline). In `repeats` rounds, each running every scenario once: the tail at a moderate load
 * is mostly the OS scheduler here (four busy processes on two cores), so one run of each says
 * little. Per scenario the median round is reported (by p99 for the baseline, by added p99 for
 * the others, each against the baseline of its own round), every round's figure with it.
 */
async function fixedRate(
  halfOf: string,
  rate: number,
  scenarios: Scenario[],
  repeats: number,
  atRate: (scenario: Scenario, overallRate: number) => Promise<Run>,
  log: (line: string) => void,
): Promise<FixedRateBlock> {
  const targetRps = Math.max(1, Math.round(rate));
  log(`  fixed rate ${targetRps} rps (half the peak of ${halfOf}):`);
  const rounds: FixedRateFigures[][] = scenarios.map(() => []);
  for (let round = 0; round < repeats; round++) {
    let baselineP99: number | undefined;
    for (const [index, scenario] of scenarios.entries()) {
      const run = await atRate(scenario, targetRps);
      const { load } = run;
      const figures: FixedRateFigures = {
        name: scenario.name,
        target_rps: targetRps,
        achieved_rps: load.rps,
        p50_ms: load.p50Ms,
        p99_ms: load.p99Ms,
        non_2xx: load.non2xx,
        core_share: run.elapsedMs > 0 ? run.cpuMs / run.elapsedMs : 0,
        machine_busy_share: 1 - idleShare(run.machine),
        ...(load.tail ? { tail_episodes: load.tail } : {}),
      };
      if (baselineP99 === undefined) baselineP99 = load.p99Ms;
      else figures.added_p99_ms = load.p99Ms - baselineP99;
      rounds[index]?.push(figures);
      log(
        `    ${scenario.name.padEnd(28)} ${load.rps.toFixed(0).padStart(7)} rps  p50 ${load.p50Ms.toFixed(2)} ms  p99 ${load.p99Ms.toFixed(2)} ms${figures.added_p99_ms === undefined ? '' : `  (${signed(figures.added_p99_ms)} ms)`}  ${busyText(figures)}${load.tail ? `; ${describeTail(load.tail)}` : ''}`,
      );
    }
  }
  const runs = rounds.map((figures) => {
    const chosen = medianBy(figures, (run) => run.added_p99_ms ?? run.p99_ms);
    return figures.length > 1
      ? { ...chosen, rounds_p99_ms: figures.map((run) => run.p99_ms) }
      : chosen;
  });
  return { half_of: halfOf, rate_rps: targetRps, runs };
}

/** One of bench/servers/*.ts in its own Node process; resolves once it printed its port. */
async function startServer(
  script: string,
  args: string[],
): Promise<{ child: Child; origin: string }> {
  const child = startChild(process.execPath, [script, ...args]);
  await child.waitForOutput((output) => /listening \d+/.test(output), 15_000);
  const port = /listening (\d+)/.exec(child.output())?.[1];
  return { child, origin: `http://127.0.0.1:${port}` };
}
