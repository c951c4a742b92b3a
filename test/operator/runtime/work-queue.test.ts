import { describe, expect, it } from 'vitest';
import { createWorkQueue, TerminalError } from '../../../operator/src/runtime/work-queue.ts';

const tick = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));

describe('work queue', () => {
  it('queues a key once however often it is added', async () => {
    const seen: string[] = [];
    const queue = createWorkQueue(async (key) => void seen.push(key));
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('a');
    queue.start();
    await queue.idle();
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and re-runs it when it changed meanwhile', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const queue = createWorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        await tick(20);
        running--;
      },
      { workers: 4 },
    );
    queue.start();
    queue.add('k');
    await tick(2);
    queue.add('k'); // arrives while 'k' is processing: marked dirty
    queue.add('k');
    await tick(60);
    await queue.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries failures with growing delays and stops retrying a terminal error', async () => {
    const attempts: number[] = [];
    const delays: Array<number | undefined> = [];
    let terminalRuns = 0;
    const queue = createWorkQueue(
      async (key) => {
        if (key === 'terminal') {
          terminalRuns++;
          throw new TerminalError('spec is invalid');
        }
        attempts.push(Date.now());
        if (attempts.length < 3) throw new Error('transient');
      },
      { baseDelayMs: 10, onError: (_key, _error, retry) => delays.push(retry) },
    );
    queue.start();
    queue.add('flaky');
    queue.add('terminal');
    await tick(200);
    expect(attempts).toHaveLength(3);
    expect(terminalRuns).toBe(1);
    expect(delays).toContain(undefined);
    expect(delays.filter((d) => d !== undefined)).toEqual([10, 20]);
    await queue.stop();
  });

  it('runs a key at the earliest of several scheduled times', async () => {
    const seen: number[] = [];
    const started = Date.now();
    const queue = createWorkQueue(async () => void seen.push(Date.now() - started));
    queue.start();
    queue.addAfter('k', 60_000); // e.g. a rotation due much later...
    queue.addAfter('k', 10); // ...and an expiry due now: the earlier wins
    queue.addAfter('k', 30_000);
    await tick(100);
    expect(seen).toHaveLength(1);
    await queue.stop();
  });
});
