/**
 * The operator and gateway run as the chart's Deployments would run them: the container's
 * arguments taken from the rendered manifest, a kubeconfig holding a token of the Deployment's
 * ServiceAccount (so the API server applies exactly the chart's RBAC), only ports and listen
 * address changed to fit a shared test machine.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Manifest } from './helm.ts';
import { REPO_ROOT } from './helm.ts';

const run = promisify(execFile);

/** What the image's entry point runs for its first argument (see Dockerfile). */
const PROGRAMS: Record<string, string> = {
  gateway: join(REPO_ROOT, 'gateway/src/main.ts'),
  operator: join(REPO_ROOT, 'operator/src/main.ts'),
};

export interface RunningProgram {
  child: ChildProcess;
  output(): string;
  waitForOutput(test: (output: string) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Any child still running when the test process exits is killed.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Runs a Deployment's container command line with `node` (`gateway ARGS` or `operator ARGS`),
 * each `--flag=value` in `replace` substituted, `extra` appended.
 */
export function runContainer(
  deployment: Manifest,
  options: {
    kubeconfig: string;
    replace?: Record<string, string>;
    extra?: string[];
  },
): RunningProgram {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const [program = '', ...args] = deployment.spec.template.spec.containers[0].args as string[];
  const main = PROGRAMS[program];
  if (!main) throw new Error(`${deployment.metadata.name}: unknown program ${program}`);
  const replace = options.replace ?? {};
  const argv = args.map((arg) => {
    const flag = arg.split('=', 1)[0] as string;
    return flag in replace ? `${flag}=${replace[flag]}` : arg;
  });
  const child = spawn(process.execPath, [main, ...argv, ...(options.extra ?? [])], {
    env: { ...process.env, KUBECONFIG: options.kubeconfig },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const collect = (chunk: string) => {
    output += chunk;
  };
  child.stdout?.setEncoding('utf8').on('data', collect);
  child.stderr?.setEncoding('utf8').on('data', collect);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exited.then(() => running.delete(child));
  const done = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    output: () => output,
    async waitForOutput(test, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!test(output)) {
        if (done())
          throw new Error(`${program} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${program}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!done()) {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const [code, signal] = await exited;
        clearTimeout(kill);
        return { code, signal };
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
}

/**
 * A kubeconfig file that authenticates as a ServiceAccount, with a token from the TokenRequest
 * API (`kubectl create token`), for the cluster `adminKubeconfig` points at.
 */
export async function serviceAccountKubeconfig(
  adminKubeconfig: string,
  namespace: string,
  serviceAccount: string,
  file: string,
): Promise<string> {
  const kubectl = async (...args: string[]) =>
    (await run('kubectl', ['--kubeconfig', adminKubeconfig, ...args])).stdout;
  const token = (await kubectl('create', 'token', serviceAccount, '-n', namespace)).trim();
  const current = JSON.parse(
    await kubectl('config', 'view', '--raw', '--flatten', '--minify', '-o', 'json'),
  ) as { clusters: Array<{ cluster: Record<string, string> }> };
  const cluster = current.clusters[0]?.cluster ?? {};
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [
      {
        name: serviceAccount,
        context: { cluster: 'cluster', user: serviceAccount, namespace },
      },
    ],
    'current-context': serviceAccount,
  };
  await writeFile(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}
