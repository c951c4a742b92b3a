/**
 * Real `redis-server` processes for tests and benchmarks, each on a free loopback port with its
 * own temporary directory and no persistence. Never the shared Redis on 6379, which a test must
 * not flush or kill.
 *
 *   const redis = await startRedis();            // redis.url: redis://127.0.0.1:<port>
 *   await redis.kill();  await redis.restart();  // an outage, then the same server back
 *   await redis.stop();                          // always, in afterAll
 *
 * `cluster: true` starts a one-node Redis Cluster owning every slot: enough to prove that
 * multi-key commands stay in one slot (Redis refuses CROSSSLOT ones even with one node).
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM) and removal of its directory. */
  stop(): Promise<void>;
  /** SIGKILL: an abrupt outage; `restart()` brings it back on the same port, empty. */
  kill(): Promise<void>;
  /** Start it again on the same port (stopping it first if it runs). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that accepts connections but never answers. */
  pause(): void;
  resume(): void;
}

export interface StartRedisOptions {
  cluster?: boolean;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  const dir = await mkdtemp(join(tmpdir(), 'apiway-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    // Announced explicitly: otherwise the node reports an empty host in CLUSTER SLOTS.
    ...(options.cluster
      ? [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-announce-ip',
          '127.0.0.1',
        ]
      : []),
  ];
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function launch(): Promise<void> {
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    await waitForReady(started, port);
  }

  async function terminate(signal: NodeJS.Signals): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGCONT');
    running.kill(signal);
    await exited;
  }

  await launch();
  if (options.cluster) await assignAllSlots(port);

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await terminate('SIGTERM');
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
      if (options.cluster) await waitForClusterOk(port);
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}

function redisServerBinary(): string {
  try {
    return execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'redis-server is not installed (apt-get install redis-server): the rate-limit tests need a real one',
    );
  }
}

async function waitForReady(child: ChildProcess, port: number): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.removeListener('data', onData);
        // Keep draining, or a chatty server would block on a full pipe.
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `redis-server on port ${port} exited (${code ?? signal}) before it was ready:\n${output}`,
        ),
      ),
    );
  });
}

async function assignAllSlots(port: number): Promise<void> {
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await admin.connect();
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  } finally {
    admin.disconnect();
  }
  await waitForClusterOk(port);
}

async function waitForClusterOk(port: number): Promise<void> {
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await admin.connect();
    for (let attempt = 0; attempt < 200; attempt++) {
      const info = String(await admin.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the one-node cluster on port ${port} never reached cluster_state:ok`);
  } finally {
    admin.disconnect();
  }
}
