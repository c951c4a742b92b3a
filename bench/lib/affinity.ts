/**
 * `--pin`: the proxy under test on cores of its own, apart from what drives and serves it.
 *
 * On a shared machine the load generator, the upstream and Redis take CPU from the proxy they
 * measure, and how much depends on the scheduler: the figures then say as much about the machine
 * as about the proxy (docs/benchmarks.md, "The room a ratio leaves the gateway"). With enough
 * cores, `taskset` keeps them apart: the first half of the cores for the proxies under test (bare
 * proxy, nginx, gateways: one is measured at a time, the others idle), the rest for the bench
 * process (the load generator), the upstream and redis-server. With 2 cores that is one each,
 * and the load generator's core saturates first: pinning is for machines with 4 or more.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processTree } from './proc.ts';

export interface CorePlan {
  /** CPU list for the proxies under test, as taskset takes it (`0-1`). */
  proxies: string;
  /** CPU list for the load generator, the upstream and Redis. */
  others: string;
  /** Every CPU: what the bench process gets back once the data path is done. */
  all: string;
}

const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);

/** How many CPUs a taskset CPU list names (`0-3,6` is 5). */
export function cpuCount(list: string): number {
  let count = 0;
  for (const part of list.split(',')) {
    const [from = 0, to = from] = part.split('-').map(Number);
    count += to - from + 1;
  }
  return count;
}

/** The split of `cores` CPUs (numbered from 0), or why there is none. */
export function planCores(cores: number): CorePlan | { unavailable: string } {
  if (!Number.isInteger(cores) || cores < 2) {
    return { unavailable: `--pin needs at least 2 cores; this machine has ${cores}` };
  }
  const proxyCores = Math.floor(cores / 2);
  return {
    proxies: range(0, proxyCores - 1),
    others: range(proxyCores, cores - 1),
    all: range(0, cores - 1),
  };
}

/**
 * Pins every thread of each process in `pids`, with its descendants (nginx's workers), to
 * `cpus`. Throws with what to install when taskset is missing.
 */
export function pinProcesses(pids: readonly number[], cpus: string): void {
  for (const pid of processTree(...pids)) {
    try {
      execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('--pin needs taskset (Debian: apt-get install -y util-linux)');
      }
      throw new Error(`taskset could not pin process ${pid} to CPUs ${cpus}`, { cause: error });
    }
  }
}

/** The CPUs a process's main thread may run on, as Linux lists them (`0-1`, `2,3`). */
export function allowedCpus(pid: number): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
  } catch {
    return undefined; // the process is gone
  }
}
