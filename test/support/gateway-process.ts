/**
 * The real `apiway-gateway` as a child process (`node gateway/src/main.ts ...`), for e2e tests:
 * started on free loopback ports, ready once `/readyz` says so, every byte it writes kept so a
 * test can look for what must (or must never) be there.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './http-server.ts';

const MAIN = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));

export interface GatewayProcessOptions {
  configDir: string;
  stateDir: string;
  /** Extra environment variables (the parent's environment is inherited). */
  env?: Record<string, string>;
  /** Extra command-line arguments, after the ones this helper sets. */
  args?: string[];
  /** Default: a free port (pass the previous one to restart "the same" gateway). */
  port?: number;
  adminPort?: number;
  /** Default 30 s: a first start generates an RSA key. */
  readyTimeoutMs?: number;
}

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`: also the public URL (token issuers are `{url}{basePath}`). */
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The stdout lines that are JSON log records, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** The snapshot version served now (from `/readyz`). */
  version(): Promise<string | undefined>;
  /** Resolves once `/readyz` reports a version other than `previous` (a reload was served). */
  waitForReload(previous: string | undefined, timeoutMs?: number): Promise<string>;
  /** Resolves once the output (stdout + stderr) satisfies `test`. */
  waitForOutput(test: (output: string) => boolean, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`), then waits for the exit; SIGKILL after 15 s. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const adminPort = options.adminPort ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--config-dir',
      options.configDir,
      '--state-dir',
      options.stateDir,
      '--port',
      String(port),
      '--admin-port',
      String(adminPort),
      ...(options.args ?? []),
    ],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const url = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const describe = () => `gateway output:\n${stdout}\n${stderr}`;

  const version = async (): Promise<string | undefined> => {
    try {
      const response = await fetch(`${adminUrl}/readyz`);
      if (response.status !== 200) return undefined;
      return ((await response.json()) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };

  const poll = async (done: () => Promise<boolean> | boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `the gateway exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}\n${describe()}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const running: GatewayProcess = {
    url,
    adminUrl,
    port,
    adminPort,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () =>
      stdout.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    version,
    async waitForReload(previous, timeoutMs = 10_000) {
      let current: string | undefined;
      await poll(
        async () => {
          current = await version();
          return current !== undefined && current !== previous;
        },
        timeoutMs,
        'a reload',
      );
      return current as string;
    },
    waitForOutput: (test, timeoutMs = 10_000) =>
      poll(() => test(stdout + stderr), timeoutMs, 'output'),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const [code, exitSignal] = await exited;
        clearTimeout(kill);
        return { code, signal: exitSignal };
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
  };

  try {
    await poll(
      async () => (await version()) !== undefined,
      options.readyTimeoutMs ?? 30_000,
      '/readyz',
    );
  } catch (error) {
    await running.stop('SIGKILL');
    throw error;
  }
  return running;
}
