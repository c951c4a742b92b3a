/**
 * The real programs of Kubernetes mode as child processes, for integration tests: the operator
 * (`node operator/src/main.ts`) and gateways with `--source kubernetes`, each authenticating
 * with the kubeconfig of its own non-admin identity, so the RBAC rules under operator/rbac/ are
 * what they run with. Every byte they write is kept for assertions and failure messages; any
 * child still running when the test process exits is killed.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './http-server.ts';

const OPERATOR_MAIN = fileURLToPath(new URL('../../operator/src/main.ts', import.meta.url));
const GATEWAY_MAIN = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export interface ManagedProcess {
  child: ChildProcess;
  output(): string;
  /** The stdout lines that are JSON log records, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves once the output satisfies `test`; fails early if the process exits. */
  waitForOutput(test: (output: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after 15 s. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
}

function startProcess(name: string, args: string[], env: Record<string, string>): ManagedProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exit.then(() => running.delete(child));
  const isExited = () => child.exitCode !== null || child.signalCode !== null;

  return {
    child,
    output: () => output,
    logs: () =>
      output.split('\n').flatMap((line) => {
        if (!line.startsWith('{')) return [];
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    async waitForOutput(test, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!test(output)) {
        if (isExited())
          throw new Error(
            `${name} exited (${child.exitCode ?? child.signalCode})\n${tail(output)}`,
          );
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for output of ${name}\n${tail(output)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (!isExited()) {
        child.kill(signal);
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const [code, exitSignal] = await exit;
        clearTimeout(kill);
        return { code, signal: exitSignal };
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
    get exited() {
      return isExited();
    },
  };
}

function tail(output: string): string {
  return output.split('\n').slice(-40).join('\n');
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  systemNamespace: string;
  /** Watch only this namespace (tests share one API server). */
  namespace?: string;
  leaderElect?: boolean;
  identity?: string;
  publicUrls?: Record<string, string>;
  args?: string[];
}

export interface OperatorProcess extends ManagedProcess {
  /** Resolves once it logged that its controllers run (as leader when electing). */
  waitForControllers(timeoutMs?: number): Promise<void>;
}

export async function startOperatorProcess(
  options: OperatorProcessOptions,
): Promise<OperatorProcess> {
  const args = [
    OPERATOR_MAIN,
    '--system-namespace',
    options.systemNamespace,
    '--metrics-port',
    '0',
    ...(options.namespace ? ['--namespace', options.namespace] : []),
    ...(options.leaderElect ? ['--leader-elect'] : []),
    ...(options.identity ? ['--identity', options.identity] : []),
    ...Object.entries(options.publicUrls ?? {}).flatMap(([env, url]) => [
      '--public-url',
      `${env}=${url}`,
    ]),
    ...(options.args ?? []),
  ];
  const managed = startProcess(`operator ${options.identity ?? ''}`, args, {
    KUBECONFIG: options.kubeconfig,
  });
  const operator: OperatorProcess = {
    ...managed,
    get exited() {
      return managed.exited;
    },
    waitForControllers: (timeoutMs = 30_000) =>
      managed.waitForOutput((output) => output.includes('"msg":"controllers started"'), timeoutMs),
  };
  await managed.waitForOutput((output) => output.includes('"msg":"caches synced"'), 30_000);
  return operator;
}

export interface KubernetesGatewayOptions {
  kubeconfig: string;
  systemNamespace: string;
  environment: string;
  identity: string;
  args?: string[];
}

export interface KubernetesGatewayProcess extends ManagedProcess {
  /** `http://127.0.0.1:<port>`: also its public URL. */
  url: string;
  adminUrl: string;
  /** The snapshot version it serves (`/readyz`), undefined while not ready. */
  version(): Promise<string | undefined>;
}

/** Starts a gateway and returns at once: it is not ready before the operator published a snapshot. */
export async function startKubernetesGateway(
  options: KubernetesGatewayOptions,
): Promise<KubernetesGatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const managed = startProcess(
    `gateway ${options.identity}`,
    [
      GATEWAY_MAIN,
      '--source',
      'kubernetes',
      '--environment',
      options.environment,
      '--namespace',
      options.systemNamespace,
      '--identity',
      options.identity,
      '--port',
      String(port),
      '--admin-port',
      String(adminPort),
      ...(options.args ?? []),
    ],
    { KUBECONFIG: options.kubeconfig },
  );
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await managed.waitForOutput((output) => output.includes('"event":"listening"'), 30_000);
  return {
    ...managed,
    get exited() {
      return managed.exited;
    },
    url: `http://127.0.0.1:${port}`,
    adminUrl,
    async version() {
      try {
        const response = await fetch(`${adminUrl}/readyz`);
        if (response.status !== 200) return undefined;
        return ((await response.json()) as { version?: string }).version;
      } catch {
        return undefined;
      }
    },
  };
}
