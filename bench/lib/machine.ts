/**
 * The machine a run happened on, written next to every figure: without it a number means
 * nothing. The load average at start says how quiet the machine was (on a shared machine the
 * absolute figures drift; the ratios measured in the same run are what to compare).
 */

import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_bytes: number;
  node_version: string;
  kernel: string;
  /** 1, 5 and 15-minute load averages when the run started. */
  load_average_at_start: number[];
  nginx_version?: string;
  redis_version?: string;
}

export function machineInfo(): MachineInfo {
  const info: MachineInfo = {
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memory_bytes: totalmem(),
    node_version: process.version,
    kernel: release(),
    load_average_at_start: loadavg().map((load) => Math.round(load * 100) / 100),
  };
  const nginx = versionOf('nginx', ['-v'], /nginx\/(\S+)/);
  if (nginx) info.nginx_version = nginx;
  const redis = versionOf('redis-server', ['--version'], /v=(\S+)/);
  if (redis) info.redis_version = redis;
  return info;
}

function versionOf(binary: string, args: string[], pattern: RegExp): string | undefined {
  // nginx prints its version on stderr.
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 5_000 });
  if (result.error) return undefined;
  return pattern.exec(`${result.stdout}\n${result.stderr}`)?.[1];
}
