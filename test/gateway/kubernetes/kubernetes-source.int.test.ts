// The gateway's Kubernetes source, against the real API server, as the gateway identity with
// the Role of operator/rbac/gateway-role.yaml. Snapshot ConfigMaps and the signing-key Secret
// are written here by hand (as the operator would), to show what the gateway does with a
// half-written version and with an API server it cannot reach (through a TCP proxy that the
// test cuts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import { SIGNING_KEYS_ENVIRONMENT_LABEL } from '../../../gateway/src/kubernetes/names.ts';
import { generateSigningKey } from '../../../gateway/src/oauth/keys.ts';
import type { Snapshot } from '../../../gateway/src/snapshot/schema.ts';
import { splitSnapshot } from '../../../gateway/src/snapshot/shards.ts';
import { planPublish } from '../../../operator/src/snapshot/publish-plan.ts';
import { kubeconfigPath } from '../../control-plane/kube.ts';
import { useTestNamespace } from '../../control-plane/namespace.ts';
import { adminClient, apply, applyRbac, call, eventually } from '../../operator/support/cluster.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import {
  type KubernetesGatewayProcess,
  startKubernetesGateway,
} from '../../support/operator-process.ts';
import { apiFixture, operation, path, snapshotFixture } from '../../support/snapshot-fixtures.ts';

const system = useTestNamespace('gw-source-system');

let backend: EchoBackend;
let gateway: KubernetesGatewayProcess;
let proxy: TcpProxy;
let dir: string;

function snapshot(paths: string[]): Snapshot {
  return snapshotFixture({
    environment: 'alpha',
    apis: [
      apiFixture({
        name: 'svc',
        basePath: '/svc',
        backendUrl: backend.url,
        paths: paths.map((p) => path(p, { GET: operation([]) })),
      }),
    ],
  });
}

/** Writes a version as the operator does, or only its manifest (`manifestOnly`) to fake a half-written one. */
async function publish(version: Snapshot, options: { manifestOnly?: boolean } = {}): Promise<void> {
  const client = adminClient();
  const existing = await client.list<V1ConfigMap>(
    resourcePath({ version: 'v1', resource: 'configmaps', namespace: system }),
  );
  const plan = planPublish('alpha', system, splitSnapshot(version), existing.items);
  for (const configMap of [
    ...(options.manifestOnly ? [] : plan.shards),
    ...(plan.manifest ? [plan.manifest] : []),
  ]) {
    await client.apply(
      resourcePath({
        version: 'v1',
        resource: 'configmaps',
        namespace: system,
        name: configMap.metadata?.name as string,
      }),
      configMap,
      { fieldManager: 'apiway-tests', force: true },
    );
  }
}

const status = async (p: string) => (await call(gateway.url, p)).status;

beforeAll(async () => {
  backend = await startEchoBackend();
  await applyRbac(system, ['alpha']);
  const keys = {
    keys: [
      await generateSigningKey('ES256', 'active'),
      await generateSigningKey('RS256', 'active'),
    ],
  };
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'apiway-signing-keys-alpha',
      namespace: system,
      labels: { [SIGNING_KEYS_ENVIRONMENT_LABEL]: 'alpha' },
    },
    stringData: { 'keys.json': JSON.stringify(keys) },
  });
  // The gateway reaches the API server through a proxy the test can cut.
  const config = JSON.parse(await readFile(kubeconfigPath('gateway'), 'utf8'));
  const server = new URL(config.clusters[0].cluster.server);
  proxy = await startTcpProxy(Number(server.port));
  config.clusters[0].cluster.server = `https://127.0.0.1:${proxy.port}`;
  dir = await mkdtemp(join(tmpdir(), 'apiway-gw-source-'));
  await writeFile(join(dir, 'kubeconfig'), JSON.stringify(config), { mode: 0o600 });
  gateway = await startKubernetesGateway({
    kubeconfig: join(dir, 'kubeconfig'),
    systemNamespace: system,
    environment: 'alpha',
    identity: 'gw-source',
  });
});

afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
  await backend?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('gateway --source kubernetes', () => {
  it('is not ready until a complete snapshot exists, then serves it', async () => {
    expect(await gateway.version()).toBeUndefined();
    expect(await status('/svc/one')).toBe(503);
    const v1 = snapshot(['/one']);
    await publish(v1);
    await eventually(async () => (await gateway.version()) === v1.version);
    expect(await status('/svc/one')).toBe(200);
    expect(await status('/svc/two')).toBe(404);
  });

  it('keeps its version while a new one is half written, and swaps once every shard matches', async () => {
    const v1 = snapshot(['/one']);
    const v2 = snapshot(['/one', '/two']);
    await publish(v2, { manifestOnly: true });
    await gateway.waitForOutput((output) => output.includes('snapshot not loadable yet'));
    expect(await gateway.version()).toBe(v1.version);
    expect(await status('/svc/two')).toBe(404);
    await publish(v2);
    await eventually(async () => (await gateway.version()) === v2.version);
    expect(await status('/svc/two')).toBe(200);
  });

  it('keeps serving its last snapshot while the API server is unreachable, and catches up after', async () => {
    const v2 = snapshot(['/one', '/two']);
    const v3 = snapshot(['/one', '/two', '/three']);
    const seen = gateway.output().length;
    await proxy.cut();
    await gateway.waitForOutput(
      (output) => output.slice(seen).includes('list or watch failed'),
      60_000,
    );
    await publish(v3); // the gateway cannot see this yet
    for (let i = 0; i < 5; i++) {
      expect(await status('/svc/two')).toBe(200);
      expect(await gateway.version()).toBe(v2.version);
    }
    await proxy.restore();
    await eventually(async () => (await gateway.version()) === v3.version, { timeoutMs: 60_000 });
    expect(await status('/svc/three')).toBe(200);
  });

  it('reports the version it serves through its Lease', async () => {
    const reported = async () =>
      (
        await adminClient().get<{ metadata: { annotations?: Record<string, string> } }>(
          resourcePath({
            group: 'coordination.k8s.io',
            version: 'v1',
            resource: 'leases',
            namespace: system,
            name: 'apiway-gw-alpha.gw-source',
          }) as string,
        )
      )?.metadata.annotations?.['apiway.net/snapshot-version'];
    // The report is written right after a load, asynchronously: the previous test's load may
    // still be on its way to the API server.
    const serving = await gateway.version();
    await eventually(async () => (await reported()) === serving, { timeoutMs: 10_000 }).catch(
      () => undefined,
    );
    expect(await reported()).toBe(serving);
  });
});

interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<Server>((resolve) => {
      const created = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => socket.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      created.listen(port, '127.0.0.1', () => resolve(created));
    });
  server = await listen(0);
  const port = (server.address() as { port: number }).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  return {
    port,
    cut: stop,
    async restore() {
      server = await listen(port);
    },
    close: stop,
  };
}
