/**
 * What a process costs, read from Linux's /proc: CPU time (utime + stime of /proc/<pid>/stat, in
 * clock ticks) and resident memory (VmRSS of /proc/<pid>/status). A process tree (nginx's master
 * and workers) is summed. Beside them, the whole machine's CPU (/proc/stat) and the bench's own
 * (the load generator's): what the processes around the measured one cost, so that a ratio can
 * be told apart from the room the machine left it (lib/goals.ts).
 */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc CPU times (USER_HZ: 100 on every common kernel). */
export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself hold spaces. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process is gone
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of one process in clock ticks (0 once it is gone). */
export function cpuTicks(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // After comm: state(0) ppid(1) ... utime is field 14 of the line, i.e. index 11 here; stime 12.
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The `roots` and every process descending from them, each once, as they are now: one reading
 * of /proc for all of them.
 */
export function processTree(...roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const parent = Number(fields[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(entry));
    children.set(parent, list);
  }
  const tree = new Set<number>();
  const walk = (at: number) => {
    if (tree.has(at)) return;
    tree.add(at);
    for (const child of children.get(at) ?? []) walk(child);
  };
  for (const root of roots) walk(root);
  return [...tree];
}

/** Resident set size of one process in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib === undefined ? 0 : Number(kib) * 1024;
  } catch {
    return 0;
  }
}

export interface CpuMeter {
  /** CPU milliseconds the measured processes used since the meter was started. */
  stop(): number;
}

/**
 * Starts counting the CPU of `pids` (each with its descendants, taken now: start measured
 * processes before the meter). Ticks are 10 ms, so figures below ~1 s of CPU are coarse.
 */
export function startCpuMeter(pids: readonly number[], ticksPerSecond: number): CpuMeter {
  const tree = processTree(...pids);
  const sum = () => tree.reduce((total, pid) => total + cpuTicks(pid), 0);
  const before = sum();
  return { stop: () => ((sum() - before) * 1000) / ticksPerSecond };
}

/** The first process of this process's tree whose command line contains every one of `parts`. */
export function findDescendant(parts: readonly string[]): number | undefined {
  for (const pid of processTree(process.pid)) {
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (parts.every((part) => commandLine.includes(part))) return pid;
  }
  return undefined;
}

export interface MachineCpu {
  /** CPU milliseconds every process of the machine used (all cores), kernel time included. */
  busyMs: number;
  /** CPU milliseconds the machine had: wall time × cores, as /proc/stat counts it. */
  totalMs: number;
}

/** The machine's `cpu` line of /proc/stat: [busy, total] in clock ticks. */
function machineTicks(): [number, number] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user/nice).
  // Time the hypervisor gave to other guests (steal, the 8th) was neither ours nor idle: left out.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return [busy, busy + idle + iowait];
}

/**
 * Starts counting the whole machine's CPU: what every process used, the load generator and the
 * servers behind the one measured included, against what the cores had.
 */
export function startMachineCpuMeter(ticksPerSecond: number): { stop(): MachineCpu } {
  const [busyBefore, totalBefore] = machineTicks();
  return {
    stop: () => {
      const [busy, total] = machineTicks();
      return {
        busyMs: ((busy - busyBefore) * 1000) / ticksPerSecond,
        totalMs: ((total - totalBefore) * 1000) / ticksPerSecond,
      };
    },
  };
}

/** The share of the machine's CPU left idle (0 when no time was counted). */
export function idleShare(cpu: MachineCpu): number {
  return cpu.totalMs > 0 ? 1 - cpu.busyMs / cpu.totalMs : 0;
}

/** This process's own CPU milliseconds so far, every thread (not its children's). */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
