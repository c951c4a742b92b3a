/**
 * `apiway-gateway`: the only module that reads argv and the environment and creates the
 * logger, the metrics registry, the rate limiter, its Redis client and the servers. Everything
 * else receives them.
 *
 * Output: JSON log lines (pino) on stdout, which never hold a secret; and, in standalone mode,
 * a plain-text banner on stdout for the person who started it, with the credentials of each
 * Subscription (`--no-print-credentials` turns those off).
 *
 * Exit codes: 0 after a graceful shutdown, 1 when it cannot start (port taken, unreadable
 * config or state dir), 2 for a bad command line.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import {
  isKubernetesSource,
  KUBERNETES_USAGE,
  type KubernetesGatewayCommand,
  parseKubernetesCommandLine,
} from './kubernetes/command-line.ts';
import type { RateLimiter } from './ratelimit/limiter.ts';
import {
  type GatewayCommand,
  localUrl,
  parseCommandLine,
  USAGE,
} from './standalone/command-line.ts';
import type { StandaloneSource } from './standalone/source.ts';

const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));
/** How long to wait for Redis at start before serving under the local fallback. */
const REDIS_STARTUP_WAIT_MS = 2000;

const argv = process.argv.slice(2);
// `--source kubernetes` has its own parser (gateway/src/kubernetes/command-line.ts).
const parsed = isKubernetesSource(argv)
  ? parseKubernetesCommandLine(argv, hostname())
  : parseCommandLine(argv);
if (parsed.kind === 'help') {
  process.stdout.write(`${USAGE}${KUBERNETES_USAGE}`);
} else if (parsed.kind === 'error') {
  process.stderr.write(`apiway-gateway: ${parsed.message}\n\n${USAGE}${KUBERNETES_USAGE}`);
  process.exitCode = 2;
} else {
  await run(parsed.command);
}

async function run(command: GatewayCommand | KubernetesGatewayCommand): Promise<void> {
  // Loaded only now, so `--help` and a bad flag answer at once.
  const [
    { collectDefaultMetrics, Registry },
    { createGateway },
    { createLogger },
    { createMemoryLimiter },
    { createRateLimitMetrics },
    { createRateLimitRedis, redisReady },
    { createRedisLimiter },
    { formatBanner, formatCredentials },
    { startStandaloneSource },
  ] = await Promise.all([
    import('prom-client'),
    import('./app.ts'),
    import('./observability/logger.ts'),
    import('./ratelimit/memory-store.ts'),
    import('./ratelimit/metrics.ts'),
    import('./ratelimit/redis-client.ts'),
    import('./ratelimit/redis-store.ts'),
    import('./standalone/banner.ts'),
    import('./standalone/source.ts'),
  ]);
  const logger = createLogger({
    level: command.logLevel,
    base: { environment: command.environment },
  });
  const fail = (message: string, error?: unknown): never => {
    logger.fatal({ err: error }, message);
    process.stderr.write(`apiway-gateway: ${message}\n`);
    process.exit(1);
  };

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const rateLimitMetrics = createRateLimitMetrics(registry);
  let redis: Redis | Cluster | undefined;
  let limiter: RateLimiter;
  if (command.redisUrl !== undefined) {
    // A password may come from the environment rather than the URL, so it stays out of `ps`.
    const password = process.env.APIWAY_REDIS_PASSWORD;
    redis = createRateLimitRedis({
      url: command.redisUrl,
      cluster: command.redisCluster,
      ...(password !== undefined && password !== '' ? { password } : {}),
    });
    if (!(await redisReady(redis, REDIS_STARTUP_WAIT_MS))) {
      logger.warn(
        { event: 'redis_unreachable' },
        'Redis is not reachable yet: rate limits use the local fallback until it is',
      );
    }
    limiter = createRedisLimiter({
      redis,
      logger,
      metrics: rateLimitMetrics,
      fallback: { replicas: command.rateLimitReplicas },
    });
  } else {
    limiter = createMemoryLimiter({ metrics: rateLimitMetrics });
  }

  // Bound before the gateway exists so `--port 0` works: the public URL needs the real port.
  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let handleAdmin: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const notReady = (res: ServerResponse) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end('{"error":"service_unavailable","error_description":"The gateway is starting."}');
  };
  const server = createServer((req, res) => (handle ? void handle(req, res) : notReady(res)));
  const adminServer = createServer((req, res) =>
    handleAdmin ? void handleAdmin(req, res) : notReady(res),
  );
  const port = await listen(server, command.host, command.port).catch((error) =>
    fail(
      `cannot listen on ${command.host}:${command.port}: ${(error as NodeJS.ErrnoException).code}`,
      error,
    ),
  );
  const adminPort = await listen(adminServer, command.host, command.adminPort).catch((error) =>
    fail(
      `cannot listen on ${command.host}:${command.adminPort} (admin): ${(error as NodeJS.ErrnoException).code}`,
      error,
    ),
  );
  const publicUrl = command.publicUrl ?? localUrl(command.host, port);
  const adminUrl = localUrl(command.host, adminPort);

  // With Redis, sign-ins in progress, codes and replay revocations live there too, so a browser
  // may come back to any replica; without it, in this process's memory.
  const authorizationStore =
    redis === undefined
      ? undefined
      : (await import('./oauth/authorize/redis-store.ts')).createRedisAuthorizationStore({
          redis,
          environment: command.environment,
        });
  const gateway = createGateway({
    logger,
    registry,
    limiter,
    publicUrl,
    environment: command.environment,
    ...(authorizationStore ? { authorizationStore } : {}),
  });
  handle = gateway.handleRequest;
  handleAdmin = gateway.handleAdmin;

  let source: Pick<StandaloneSource, 'close'>;
  if (command.source === 'kubernetes') {
    // --- Kubernetes source: the snapshot and signing keys the operator writes, through the API.
    const [{ KubeConfig }, { startKubernetesSource }] = await Promise.all([
      import('@kubernetes/client-node'),
      import('./kubernetes/kubernetes-source.ts'),
    ]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault(); // KUBECONFIG, ~/.kube/config or the in-cluster service account
    const kubernetes = startKubernetesSource({
      kubeConfig,
      namespace: command.namespace,
      environment: command.environment,
      identity: command.identity,
      logger,
      onSnapshot: (snapshot, keys, idpLoginSecrets) =>
        gateway.update(snapshot, keys, idpLoginSecrets),
      idpHealth: () => gateway.idpHealth(),
    });
    source = { close: () => kubernetes.stop() };
  } else {
    const stateDir = resolve(command.stateDir);
    // After the log lines already buffered, so the banner is not cut by them.
    const print = (text: string) =>
      logger.flush(() => {
        process.stdout.write(`${text}\n`);
      });
    try {
      source = await startStandaloneSource({
        configDir: command.configDir,
        stateDir,
        environment: command.environment,
        crdDir: CRD_DIR,
        logger,
        async onSnapshot(update) {
          try {
            await gateway.update(update.snapshot, update.keys, update.idpLoginSecrets);
          } catch (error) {
            logger.error(
              { event: 'snapshot_rejected', err: error },
              'the gateway could not load the new configuration; it keeps the previous one',
            );
            return;
          }
          const view = {
            environment: command.environment,
            publicUrl,
            adminUrl,
            stateDir,
            snapshot: update.snapshot,
            results: update.results,
            consumers: update.consumers,
            printCredentials: command.printCredentials,
          };
          if (update.initial) {
            print(formatBanner(view));
            return;
          }
          const changed = update.consumers.filter((c) => update.changedCredentials.includes(c.id));
          if (changed.length > 0) print(`\nNew credentials\n${formatCredentials(view, changed)}\n`);
        },
      });
    } catch (error) {
      return fail(`cannot start from ${command.configDir}: ${(error as Error).message}`, error);
    }
  }
  logger.info({ event: 'listening', publicUrl, adminUrl }, `listening on ${publicUrl}`);

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    // Repeats (a terminal's Ctrl+C reaches the whole process group, and `npm start` forwards it
    // too) do not cut the drain short: it is bounded by --shutdown-timeout anyway.
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal }, 'shutting down: draining in-flight requests');
    await source.close();
    const drained = Promise.all([close(server), close(adminServer)]);
    const timeout = setTimeout(() => {
      logger.warn(
        { event: 'shutdown_timeout' },
        'in-flight requests did not finish in time: closing their connections',
      );
      server.closeAllConnections();
      adminServer.closeAllConnections();
    }, command.shutdownTimeoutSeconds * 1000);
    await drained;
    clearTimeout(timeout);
    await gateway.close();
    await limiter.close();
    if (redis) await redis.quit().catch(() => undefined);
    logger.info({ event: 'stopped' }, 'stopped');
    logger.flush();
    // Everything is closed, so the process ends by itself; should a stray handle keep it up, this ends it.
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => Promise.reject(error)),
  ]);
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, closes idle keep-alive connections, resolves once in-flight requests ended. */
function close(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    server.closeIdleConnections();
  });
}
