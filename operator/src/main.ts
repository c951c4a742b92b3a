/**
 * `apiway-operator`: the only module that reads argv and the environment, and creates the
 * Kubernetes client, logger, metrics registry and servers. Connects with KUBECONFIG (or the
 * in-cluster service account: `loadFromDefault`).
 *
 * Exits 0 on SIGTERM/SIGINT (releasing the leader Lease), 1 when leadership is lost (the
 * Deployment restarts it as a follower), 2 on a bad command line.
 */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createKubeClient } from '../../gateway/src/kubernetes/kube-client.ts';
import { generateSigningKey } from '../../gateway/src/oauth/keys.ts';
import { createManager } from './manager.ts';
import { createOperatorMetrics } from './metrics.ts';
import { createOpsServer } from './ops-server.ts';
import { type OperatorOptions, parseOperatorArgs, USAGE } from './options.ts';

let options: OperatorOptions;
try {
  options = parseOperatorArgs(
    process.argv.slice(2),
    `${hostname()}-${randomBytes(3).toString('hex')}`,
  );
} catch (error) {
  console.error(`apiway-operator: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

const logger = pino({
  level: options.logLevel,
  base: { component: 'apiway-operator', identity: options.identity },
});
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const registry = new Registry();
const metrics = createOperatorMetrics(registry);

let exiting = false;
async function shutdown(code: number, reason: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  logger.info({ reason }, 'stopping');
  const forced = setTimeout(() => process.exit(code), 10_000);
  forced.unref();
  await manager
    .stop()
    .catch((error: unknown) => logger.error({ err: (error as Error).message }, 'stop failed'));
  server?.close();
  process.exit(code);
}

const manager = createManager({
  kubeConfig,
  client: createKubeClient(kubeConfig),
  logger,
  metrics,
  options,
  randomBytes,
  generateSigningKey: (alg, state) => generateSigningKey(alg, state),
  onLostLeadership: () => void shutdown(1, 'lost leadership'),
});

const server =
  options.metricsPort === 0 ? undefined : createOpsServer({ registry, ready: () => manager.ready });
server?.listen(options.metricsPort, () =>
  logger.info({ port: options.metricsPort }, 'metrics and health endpoints listening'),
);

process.once('SIGTERM', () => void shutdown(0, 'SIGTERM'));
process.once('SIGINT', () => void shutdown(0, 'SIGINT'));

logger.info(
  {
    namespace: options.namespace ?? '(all)',
    systemNamespace: options.systemNamespace,
    leaderElect: options.leaderElect,
    server: kubeConfig.getCurrentCluster()?.server,
  },
  'apiway-operator starting',
);
await manager.start();
