import { describe, expect, it } from 'vitest';
import type { ScenarioDetails } from '../../bench/data-path.ts';
import { checkGoals, cpuBudget, type GoalCheck } from '../../bench/lib/goals.ts';

/** A run on 2 cores, the bare proxy at 20,000 rps, the goal 80% of it; each test changes some. */
const RUN = {
  ratio: 0.8,
  cores: 2,
  bareProxyRps: 20_000,
  bareProxyCpuMsPerRequest: 0.033,
  gatewayCpuMsPerRequest: 0.09,
  machineCpuMsPerRequest: 0.17,
};

describe('the CPU a ratio goal leaves the gateway', () => {
  it('is what the cores have at the target rate, less what the other processes spent', () => {
    // 80% of 20,000 rps is 16,000 rps: 2 cores give 0.125 ms per request; the load generator,
    // upstream and Redis spent 0.170 - 0.090 = 0.080 of it in the gateway's own run.
    const budget = cpuBudget(RUN);
    expect(budget.target_rps).toBe(16_000);
    expect(budget.gateway_max_cpu_ms_per_request).toBeCloseTo(0.045, 6);
  });

  it('never exceeds one core at the target rate: the gateway runs its JavaScript on one thread', () => {
    const budget = cpuBudget({
      ...RUN,
      ratio: 0.5,
      cores: 8,
      gatewayCpuMsPerRequest: 0.05,
      machineCpuMsPerRequest: 0.1,
    });
    expect(budget.gateway_max_cpu_ms_per_request).toBeCloseTo(0.1, 6);
  });

  it("says what ratio cores to spare would give: the bare proxy's CPU per request over the gateway's", () => {
    // Nothing else taking their CPU, each proxy's rate is 1 / its CPU per request: 0.033 / 0.09.
    expect(cpuBudget(RUN).own_core_ratio).toBeCloseTo(0.3667, 4);
    // The same whatever the machine or pinning: it is a property of the two builds.
    const pinned = cpuBudget({ ...RUN, cores: 4, pinned: { proxyCores: 2, otherCores: 2 } });
    expect(pinned.own_core_ratio).toBeCloseTo(0.3667, 4);
  });

  it("when pinned, is the gateway's own core, unless the other processes overflow theirs", () => {
    const pinned = (machineCpuMsPerRequest: number) =>
      cpuBudget({
        ...RUN,
        cores: 4,
        machineCpuMsPerRequest,
        pinned: { proxyCores: 2, otherCores: 2 },
      });
    // 16,000 rps: the others may spend 2 cores / 16,000 = 0.125 ms per request.
    const fits = pinned(0.09 + 0.1);
    expect(fits.others_saturate).toBeUndefined();
    expect(fits.gateway_max_cpu_ms_per_request).toBeCloseTo(0.0625, 6);
    const overflows = pinned(0.09 + 0.13);
    expect(overflows.others_saturate).toBe(true);
    expect(overflows.gateway_max_cpu_ms_per_request).toBe(0);
  });

  const scenario = (name: string, rps: number, cpu: number, ratio: number) => ({
    name,
    rps,
    p50_ms: 1,
    p99_ms: 2,
    cpu_ms_per_request: cpu,
    ratio_to_bare_proxy: ratio,
  });
  /** The goals of a run that measured only the data path's throughput, on 2 cores. */
  const dataPathGoals = (
    scenarios: ReturnType<typeof scenario>[],
    details: ScenarioDetails[],
  ): GoalCheck[] =>
    checkGoals({ dataPath: { scenarios, details, fixed_rate: { skipped: 'not run' } } }, 2);

  it('is printed beside an unmet ratio, and absent when the machine was not measured', () => {
    const checks = dataPathGoals(
      [
        scenario('bare-proxy', 20_000, 0.033, 1),
        scenario('gw-apikey+redis', 10_000, 0.09, 0.5),
        scenario('gw-jwt-same-token+redis', 10_000, 0.09, 0.5),
      ],
      [{ name: 'gw-apikey+redis', machine_cpu_ms_per_request: 0.17 }],
    );
    const apiKey = checks.find((check) => check.goal.startsWith('API key + Redis'));
    expect(apiKey?.met).toBe(false);
    expect(apiKey?.budget?.gateway_max_cpu_ms_per_request).toBeCloseTo(0.045, 6);
    expect(apiKey?.figure).toContain(
      '≤ 0.045 ms CPU/req (spent 0.090, bare proxy 0.033); with cores to spare ≈ 37%',
    );
    const sameToken = checks.find((check) => check.goal.includes('repeated token'));
    expect(sameToken?.met).toBe(false);
    expect(sameToken?.budget).toBeUndefined();
  });

  it('is taken against the bare proxy run beside the scenario, when there is one', () => {
    const checks = dataPathGoals(
      [
        // The bare proxy's own slot, in a faster minute than the gateway's.
        scenario('bare-proxy', 30_000, 0.02, 1),
        scenario('gw-apikey+redis', 10_000, 0.09, 0.5),
      ],
      [
        {
          name: 'gw-apikey+redis',
          machine_cpu_ms_per_request: 0.17,
          bare_proxy_alongside: { runs_rps: [20_000], rps: 20_000, cpu_ms_per_request: 0.033 },
        },
      ],
    );
    const apiKey = checks.find((check) => check.goal.startsWith('API key + Redis'));
    // The same figures as above, where 20,000 rps and 0.033 ms were the bare proxy's own row.
    expect(apiKey?.budget?.target_rps).toBe(16_000);
    expect(apiKey?.figure).toContain('(spent 0.090, bare proxy 0.033); with cores to spare ≈ 37%');
  });
});

describe('the p99 goal at a fixed rate', () => {
  const fixedRun = (name: string, p99: number, added?: number) => ({
    name,
    target_rps: 3000,
    achieved_rps: 3000,
    p50_ms: 1,
    p99_ms: p99,
    non_2xx: 0,
    core_share: name === 'bare-proxy' ? 0.4 : 0.72,
    machine_busy_share: 0.86,
    ...(added === undefined ? {} : { added_p99_ms: added }),
  });
  const check = (added: number) =>
    checkGoals(
      {
        dataPath: {
          scenarios: [],
          details: [],
          fixed_rate: [
            {
              half_of: 'gw-jwt-same-token+redis',
              rate_rps: 3000,
              runs: [
                fixedRun('bare-proxy', 3),
                fixedRun('gw-jwt-same-token+redis', 3 + added, added),
              ],
            },
          ],
        },
      },
      2,
    ).find(
      (goal) =>
        goal.goal === 'gw-jwt-same-token+redis adds ≤ 2 ms at p99 at half its own peak rate',
    );

  it('says how loaded the gateway and the machine were, met or not', () => {
    const unmet = check(16.5);
    expect(unmet?.met).toBe(false);
    expect(unmet?.figure).toBe('+16.50 ms at 3000 rps; proxy 72% of a core, machine 86% busy');
    expect(check(1.5)?.met).toBe(true);
  });
});
