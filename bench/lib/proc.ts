/**
 * What a process costs, read from Linux's /proc: CPU time (utime + stime of /proc/<pid>/stat, in
 * clock ticks) and resident memory (VmRSS of /proc/<pid>/status). A process tree (nginx's master
 * and workers) is summed. Only for the processes the bench measures: never the load generator.
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

/** `pid` and every process descending from it, as they are now. */
export function processTree(pid: number): number[] {
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
  const tree: number[] = [];
  const walk = (at: number) => {
    tree.push(at);
    for (const child of children.get(at) ?? []) walk(child);
  };
  walk(pid);
  return tree;
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
  const tree = [...new Set(pids.flatMap((pid) => processTree(pid)))];
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
