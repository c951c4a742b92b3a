import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCpus, cpuCount, pinProcesses, planCores } from '../../bench/lib/affinity.ts';
import { processTree } from '../../bench/lib/proc.ts';

describe('--pin: the proxies under test apart from what drives them', () => {
  it('gives the proxies the first half of the cores and the rest to the others', () => {
    expect(planCores(2)).toEqual({ proxies: '0', others: '1', all: '0-1' });
    expect(planCores(8)).toEqual({ proxies: '0-3', others: '4-7', all: '0-7' });
    expect(planCores(5)).toEqual({ proxies: '0-1', others: '2-4', all: '0-4' });
  });

  it('counts the CPUs of a taskset list', () => {
    expect(cpuCount('0')).toBe(1);
    expect(cpuCount('4-7')).toBe(4);
    expect(cpuCount('0-3,6,8-9')).toBe(7);
  });

  it('says why on a machine with a single core', () => {
    expect(planCores(1)).toEqual({
      unavailable: '--pin needs at least 2 cores; this machine has 1',
    });
  });

  const started: Array<ReturnType<typeof spawn>> = [];
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
  });

  it('pins a process and its descendants, every thread, to the CPUs given', async () => {
    // A shell whose child sleeps: nginx's master and workers have the same shape.
    const parent = spawn('sh', ['-c', 'sleep 30 & echo started; wait'], { stdio: 'pipe' });
    started.push(parent);
    await once(parent.stdout, 'data');
    const tree = processTree(parent.pid as number);
    expect(tree.length).toBe(2);
    const last = String(availableParallelism() - 1);

    pinProcesses([parent.pid as number], last);

    for (const pid of tree) expect(allowedCpus(pid)).toBe(last);
  });

  it('fails with a clear error for a CPU the machine does not have', () => {
    const child = spawn('sleep', ['30']);
    started.push(child);
    expect(() => pinProcesses([child.pid as number], '4096')).toThrow(
      `taskset could not pin process ${child.pid} to CPUs 4096`,
    );
  });
});
