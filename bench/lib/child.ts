/**
 * The processes a bench run starts (servers under test, nginx, redis-server, the gateway),
 * each stopped by its own pid: SIGTERM, then SIGKILL after a grace period. Every child is also
 * killed when the bench process exits, so an interrupted run leaves nothing behind.
 */

import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Child {
  pid: number;
  process: ChildProcess;
  /** The last 8 KiB of stdout + stderr (when they are piped), for error messages. */
  output(): string;
  /** Resolves once `test(output)` holds; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(test: (output: string) => boolean, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`), SIGKILL after `graceMs`; resolves once it exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const OUTPUT_KEPT = 8 * 1024;

export function startChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Child {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const pid = child.pid;
  let output = '';
  const listeners = new Set<() => void>();
  const keep = (chunk: Buffer | string) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').then(() => undefined);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const running = () => child.exitCode === null && child.signalCode === null;

  return {
    pid,
    process: child,
    output: () => output,
    waitForOutput(test, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          child.removeListener('exit', onExit);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (test(output)) done();
        };
        const onExit = () =>
          done(new Error(`${command} exited (${child.exitCode ?? child.signalCode}):\n${output}`));
        const timer = setTimeout(
          () => done(new Error(`${command}: timed out waiting for it to be ready:\n${output}`)),
          timeoutMs,
        );
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!running()) return;
      child.kill(signal);
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** A loopback port that was free a moment ago; never 6379 (the shared Redis), never one handed out before. */
export { freePort } from '../../test/support/free-port.ts';

/** Polls `url` until it answers 200 (or `timeoutMs` passes, or `child` exits). */
export async function waitForHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`the process behind ${url} exited:\n${child.output()}`);
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready in time:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
