/**
 * `npm run bench`: the gateway measured against a bare proxy, nginx and the upstream alone, in
 * one run, on this machine (docs/benchmarks.md). Prints a table and the goals of issue #8 with
 * ✓/✗, and writes bench/results/latest.json plus a timestamped copy.
 *
 *   npm run bench                       full: every area, 3 interleaved rounds of 15 s (~15 min)
 *   npm run bench -- --quick            smoke: short runs, parse sample of 10 (< 5 min)
 *   npm run bench -- --only data-path,token-endpoint,rate-limiter,scale,propagation
 *   npm run bench -- --connections 50 --duration 15 --repeats 3 --apis 10000 --subscriptions 100000
 *   npm run bench -- --profile          CPU profiles of the gateway instead (bench/profile.ts)
 *   npm run bench -- --scenarios gw-apikey,gw-apikey+redis     only these data-path scenarios
 *                                        (and profiles: gw-apikey, token-endpoint-es256, …)
 *   npm run bench -- --rate 2000         data path at a fixed rate: CPU per request compared at
 *                                        equal throughput (A/B runs)
 *   npm run bench -- --pin               data path with the proxies under test on half the cores and
 *                                        the load generator, upstream and Redis on the other half
 *                                        (taskset; for machines with 4 cores or more)
 *   npm run bench -- --baseline-gateway DIR   A/B: DIR holds another build (DIR/gateway/src/main.ts,
 *                                        e.g. `git archive HEAD gateway crds package.json | tar -x -C DIR`
 *                                        plus a node_modules symlink); its gateway runs too, as
 *                                        `base:<scenario>`, in the same rounds
 *
 * Figures are figures, not assertions: a missed goal does not fail the run; an area that
 * crashed does (exit 1), after the others ran.
 */

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DataPathResult, runDataPath } from './data-path.ts';
import { type CorePlan, cpuCount, planCores } from './lib/affinity.ts';
import { checkGoals, formatGoals, type GoalCheck } from './lib/goals.ts';
import { machineInfo } from './lib/machine.ts';
import { clockTicksPerSecond } from './lib/proc.ts';
import { formatDataPath, formatScale, formatTokenEndpoint } from './lib/report.ts';
import { runProfile } from './profile.ts';
import { type PropagationResult, runPropagation } from './propagation.ts';
import { runScale, type ScaleResult } from './scale.ts';
import { runTokenEndpoint, type TokenEndpointResult } from './token-endpoint.ts';

const AREAS = ['data-path', 'token-endpoint', 'rate-limiter', 'scale', 'propagation'] as const;
type Area = (typeof AREAS)[number];
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    repeats: { type: 'string' },
    rate: { type: 'string' },
    apis: { type: 'string' },
    subscriptions: { type: 'string' },
    profile: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    'baseline-gateway': { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
});

const quick = values.quick ?? false;
const number = (value: string | undefined, fallback: number) =>
  value === undefined ? fallback : Number(value);
const settings = {
  mode: quick ? 'quick' : 'full',
  connections: number(values.connections, 50),
  duration_s: number(values.duration, quick ? 4 : 15),
  warmup_s: quick ? 1 : 3,
  repeats: number(values.repeats, quick ? 1 : 3),
  consumers: 100,
  distinct_tokens: 1000,
  apis: number(values.apis, 10_000),
  subscriptions: number(values.subscriptions, 100_000),
  parse_sample: quick ? 10 : 200,
  propagation_changes: quick ? 10 : 50,
};
const only = values.only?.split(',').map((area) => area.trim());
const scenarioFilter = values.scenarios?.split(',').map((name) => name.trim());
const baselineMain =
  values['baseline-gateway'] === undefined
    ? undefined
    : join(resolve(values['baseline-gateway']), 'gateway', 'src', 'main.ts');
const unknown = only?.filter((area) => !(AREAS as readonly string[]).includes(area)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown area(s) ${unknown.join(', ')}: choose from ${AREAS.join(', ')}`);
  process.exit(2);
}
const selected = (area: Area) => !only || only.includes(area);
let pin: CorePlan | undefined;
if (values.pin) {
  const plan = planCores(availableParallelism());
  if ('unavailable' in plan) {
    console.error(plan.unavailable);
    process.exit(2);
  }
  pin = plan;
}
const log = (line: string) => console.log(line);

const dir = await mkdtemp(join(tmpdir(), 'apiway-bench-'));
const ticksPerSecond = clockTicksPerSecond();
try {
  if (values.profile) {
    await runProfile({
      dir,
      connections: settings.connections,
      durationSeconds: settings.duration_s,
      log,
      ...(scenarioFilter ? { only: scenarioFilter } : {}),
    });
  } else {
    await benchmark();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function benchmark(): Promise<void> {
  const machine = machineInfo();
  const startedAt = new Date();
  log(
    `apiway bench (${settings.mode}) on ${machine.cpu_model}, ${machine.cores} cores, ${(machine.memory_bytes / 2 ** 30).toFixed(0)} GiB, Node ${machine.node_version}, Linux ${machine.kernel}; load average ${machine.load_average_at_start.join(' ')}`,
  );
  const failures: string[] = [];
  const attempt = async <T>(
    area: Area,
    work: () => Promise<T>,
  ): Promise<T | { skipped: string } | { error: string }> => {
    if (!selected(area)) return { skipped: `not selected (--only ${values.only})` };
    log(`\n== ${area}`);
    const started = Date.now();
    try {
      const result = await work();
      log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      return result;
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      failures.push(`${area}: ${message}`);
      log(`  FAILED: ${message}`);
      return { error: (error as Error).message };
    }
  };

  const dataPath = await attempt('data-path', () =>
    runDataPath({
      dir: join(dir, 'data-path'),
      connections: settings.connections,
      durationSeconds: settings.duration_s,
      warmupSeconds: settings.warmup_s,
      repeats: settings.repeats,
      consumers: settings.consumers,
      distinctTokens: settings.distinct_tokens,
      ticksPerSecond,
      log,
      ...(baselineMain ? { baselineMain } : {}),
      ...(scenarioFilter ? { only: scenarioFilter } : {}),
      ...(values.rate === undefined ? {} : { rateRps: Number(values.rate) }),
      ...(pin ? { pin } : {}),
    }),
  );
  const tokenEndpoint = await attempt('token-endpoint', () =>
    runTokenEndpoint({
      dir: join(dir, 'token-endpoint'),
      connections: settings.connections,
      durationSeconds: settings.duration_s,
      warmupSeconds: settings.warmup_s,
      consumers: settings.consumers,
      repeats: settings.repeats,
      ticksPerSecond,
      log,
      ...(baselineMain ? { baselineMain } : {}),
    }),
  );
  // bench/ratelimit.ts is another module's micro-benchmark (µs per limiter decision): run when
  // it is there, loaded lazily so that a file mid-edit cannot stop the rest of the bench.
  const rateLimiter = await attempt('rate-limiter', async () => {
    const module = (await import('./ratelimit.ts')) as {
      runRateLimitBench?: (options: {
        iterations?: number;
        print?: (line: string) => void;
      }) => Promise<unknown[]>;
    };
    if (typeof module.runRateLimitBench !== 'function') {
      return { skipped: 'bench/ratelimit.ts exports no runRateLimitBench' };
    }
    const results = await module.runRateLimitBench({
      iterations: quick ? 5_000 : 20_000,
      print: (line) => log(`  ${line}`),
    });
    return { results };
  });
  const scale = await attempt('scale', () =>
    runScale({
      dir,
      apis: settings.apis,
      subscriptions: settings.subscriptions,
      parseSample: settings.parse_sample,
      heapMiB: 8192,
      log,
    }),
  );
  const propagation = await attempt('propagation', () =>
    runPropagation({ changes: settings.propagation_changes, allowBuild: !quick, log }),
  );

  const ran = <T extends object>(result: T | { skipped: string } | { error: string }) =>
    'skipped' in result || 'error' in result ? undefined : (result as T);
  const goals: GoalCheck[] = checkGoals(
    {
      dataPath: ran<DataPathResult>(dataPath),
      tokenEndpoint: ran<TokenEndpointResult>(tokenEndpoint),
      scale: ran<ScaleResult>(scale),
      propagation: 'error' in propagation ? undefined : (propagation as PropagationResult),
    },
    machine.cores,
    pin ? { proxyCores: cpuCount(pin.proxies), otherCores: cpuCount(pin.others) } : undefined,
  );

  const finishedAt = new Date();
  const data = ran<DataPathResult>(dataPath);
  const results = {
    machine,
    run: {
      ...settings,
      started_at: startedAt.toISOString(),
      finished_at: finishedAt.toISOString(),
      note: 'Figures of a shared machine drift; compare the ratios, measured in the same run.',
      ...(baselineMain ? { baseline_gateway: baselineMain } : {}),
      ...(scenarioFilter ? { scenarios: scenarioFilter } : {}),
      ...(pin ? { pinned: { proxies: pin.proxies, others: pin.others } } : {}),
    },
    scenarios: data?.scenarios ?? [],
    token_endpoint: tokenEndpoint,
    scale,
    rate_limiter: rateLimiter,
    propagation,
    latency_at_fixed_rate: data?.fixed_rate ?? dataPath,
    scenario_details: data?.details ?? [],
    goals,
  };

  log('\n== results');
  if (data) log(formatDataPath(data));
  const tokens = ran<TokenEndpointResult>(tokenEndpoint);
  if (tokens) log(`\n${formatTokenEndpoint(tokens)}`);
  const scaled = ran<ScaleResult>(scale);
  if (scaled) log(`\n${formatScale(scaled)}`);
  log(`\ngoals (issue #8; figures, not assertions):\n${formatGoals(goals)}`);

  await mkdir(RESULTS, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  await writeFile(join(RESULTS, 'latest.json'), json);
  await writeFile(join(RESULTS, `${stamp}-${settings.mode}.json`), json);
  log(`\nwrote bench/results/latest.json and bench/results/${stamp}-${settings.mode}.json`);
  if (failures.length > 0) {
    log(`\n${failures.length} area(s) failed:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}
