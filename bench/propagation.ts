/**
 * Propagation on the real control plane: from `kubectl apply` of a changed Subscription to the
 * moment every one of three gateways enforces it. The stack is the one a cluster runs: etcd,
 * kube-apiserver and kube-controller-manager (test/control-plane), the operator
 * (operator/src/main.ts) and three gateways (`--source kubernetes`), each with its own
 * non-admin identity and the RBAC of operator/rbac/.
 *
 * One change = the Subscription's `suspended` flips; enforcement = its API key gets 401 (or 200
 * again) at a gateway, probed every few milliseconds at each one. Two clocks per change:
 * from the moment `kubectl apply` returned (the API server holds the change), and from the
 * moment it was started (what a person typing it waits, kubectl's own start-up included).
 *
 * When a piece is missing (the control-plane binaries are not built, a gateway without
 * `--source kubernetes`, no kubectl) the result says `skipped: <why>`: never a silent pass.
 */

import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { type ControlPlane, startControlPlane } from '../test/control-plane/control-plane.ts';
import {
  type KubernetesGatewayProcess,
  type OperatorProcess,
  startKubernetesGateway,
  startOperatorProcess,
} from '../test/support/operator-process.ts';
import { type Child, startChild } from './lib/child.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GATEWAY_MAIN = join(ROOT, 'gateway/src/main.ts');
const OPERATOR_MAIN = join(ROOT, 'operator/src/main.ts');
const UPSTREAM = join(ROOT, 'bench/servers/upstream.ts');
const SYSTEM_NAMESPACE = 'apiway-system';
const NAMESPACE = 'bench';
const ENVIRONMENT = 'alpha';
const GATEWAYS = 3;
const PROBE_INTERVAL_MS = 5;
const CHANGE_TIMEOUT_MS = 30_000;

export interface PropagationOptions {
  changes: number;
  /** Build the control-plane binaries when they are missing (10-20 min once per machine). */
  allowBuild: boolean;
  log: (line: string) => void;
}

export type PropagationResult =
  | { skipped: string }
  | {
      gateways: number;
      changes: number;
      /** From `kubectl apply` returning to enforcement in every gateway. */
      p50_ms: number;
      p99_ms: number;
      max_ms: number;
      /** The same, counted from the start of the `kubectl apply` command. */
      p50_ms_including_kubectl: number;
      p99_ms_including_kubectl: number;
      /** Changes not enforced everywhere within 30 s. */
      timeouts: number;
      samples_ms: number[];
    };

/** Why propagation cannot run here, or undefined when every piece is in place. */
export function propagationBlocker(allowBuild: boolean): string | undefined {
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).error) {
    return 'kubectl is not installed';
  }
  if (!existsSync(OPERATOR_MAIN)) return 'operator/src/main.ts does not exist yet';
  if (!allowBuild && !controlPlaneBinariesCached()) {
    return 'the control-plane binaries are not built (npm run cluster:up builds them once, 10-20 min; or run the full bench)';
  }
  // Black box: what the gateway says about the flag today.
  const probe = spawnSync(
    process.execPath,
    [
      GATEWAY_MAIN,
      '--source',
      'kubernetes',
      '--environment',
      ENVIRONMENT,
      '--namespace',
      SYSTEM_NAMESPACE,
      '--identity',
      'bench-probe',
      '--port',
      '0',
      '--admin-port',
      '0',
    ],
    {
      encoding: 'utf8',
      timeout: 5_000,
      env: { ...process.env, KUBECONFIG: '/nonexistent/apiway-bench-probe' },
    },
  );
  if (probe.status === 2) {
    const reason = probe.stderr.split('\n')[0]?.replace(/^apiway-gateway: /, '') ?? 'exit 2';
    return `the gateway refuses --source kubernetes: ${reason}`;
  }
  return undefined;
}

function controlPlaneBinariesCached(): boolean {
  const needed = ['etcd', 'kube-apiserver', 'kube-controller-manager'];
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && needed.every((name) => existsSync(join(assets, name)))) return true;
  const cache = join(
    process.env.APIWAY_CACHE ?? join(homedir(), '.cache', 'apiway'),
    'control-plane',
  );
  if (!existsSync(cache)) return false;
  return readdirSync(cache).some((version) =>
    needed.every((name) => existsSync(join(cache, version, 'bin', name))),
  );
}

export async function runPropagation(options: PropagationOptions): Promise<PropagationResult> {
  const blocker = propagationBlocker(options.allowBuild);
  if (blocker) {
    options.log(`  skipped: ${blocker}`);
    return { skipped: blocker };
  }
  const { log } = options;
  let cluster: ControlPlane | undefined;
  let upstream: Child | undefined;
  let operator: OperatorProcess | undefined;
  const gateways: KubernetesGatewayProcess[] = [];
  try {
    const started = Date.now();
    cluster = await startControlPlane({ crds: join(ROOT, 'crds') });
    log(`  control plane ready in ${Date.now() - started} ms`);
    const admin = cluster.kubeconfigPath('admin');
    const kubectl = async (args: string[], input?: string) => {
      const child = run('kubectl', ['--kubeconfig', admin, ...args]);
      if (input !== undefined) child.child.stdin?.end(input);
      return (await child).stdout;
    };
    const apply = (objects: object[]) =>
      kubectl(
        ['apply', '--server-side', '--force-conflicts', '--field-manager=apiway-bench', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      );
    await apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NAMESPACE } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    ]);
    await apply(await rbacObjects());

    upstream = startChild(process.execPath, [UPSTREAM, '0']);
    await upstream.waitForOutput((output) => /listening \d+/.test(output));
    const upstreamOrigin = `http://127.0.0.1:${/listening (\d+)/.exec(upstream.output())?.[1]}`;

    operator = await startOperatorProcess({
      kubeconfig: cluster.kubeconfigPath('operator'),
      systemNamespace: SYSTEM_NAMESPACE,
    });
    await operator.waitForControllers();
    for (let index = 0; index < GATEWAYS; index++) {
      gateways.push(
        await startKubernetesGateway({
          kubeconfig: cluster.kubeconfigPath('gateway'),
          systemNamespace: SYSTEM_NAMESPACE,
          environment: ENVIRONMENT,
          identity: `bench-gateway-${index}`,
        }),
      );
    }

    const apiKey = `bench-propagation-key-${Date.now().toString(36)}-0123456789`;
    await apply([
      apiObject(upstreamOrigin),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'propagation-credentials', namespace: NAMESPACE },
        stringData: {
          client_id: 'bench-propagation-client',
          client_secret: `bench-propagation-secret-${Date.now().toString(36)}-0123456789`,
          api_key: apiKey,
        },
      },
      subscriptionObject(false),
    ]);
    const expect = (status: number) =>
      Promise.all(gateways.map((gateway) => enforcedAt(gateway.url, apiKey, status)));
    await expect(200);
    log(`  ${GATEWAYS} gateways serve the Subscription; ${options.changes} changes follow`);

    const samples: number[] = [];
    const withKubectl: number[] = [];
    let timeouts = 0;
    for (let change = 1; change <= options.changes; change++) {
      const suspended = change % 2 === 1;
      const began = performance.now();
      const waiting = expect(suspended ? 401 : 200);
      await apply([subscriptionObject(suspended)]);
      const applied = performance.now();
      const enforced = await waiting;
      if (enforced.some((at) => at === undefined)) {
        timeouts++;
        continue;
      }
      const last = Math.max(...(enforced as number[]));
      samples.push(Math.max(0, last - applied));
      withKubectl.push(last - began);
    }
    samples.sort((a, b) => a - b);
    withKubectl.sort((a, b) => a - b);
    const result: PropagationResult = {
      gateways: GATEWAYS,
      changes: options.changes,
      p50_ms: percentile(samples, 0.5),
      p99_ms: percentile(samples, 0.99),
      max_ms: samples.at(-1) ?? Number.NaN,
      p50_ms_including_kubectl: percentile(withKubectl, 0.5),
      p99_ms_including_kubectl: percentile(withKubectl, 0.99),
      timeouts,
      samples_ms: samples,
    };
    log(
      `  apply → enforced in all ${GATEWAYS}: p50 ${result.p50_ms.toFixed(0)} ms, p99 ${result.p99_ms.toFixed(0)} ms (with kubectl's start-up: p50 ${result.p50_ms_including_kubectl.toFixed(0)} ms, p99 ${result.p99_ms_including_kubectl.toFixed(0)} ms)${timeouts > 0 ? `, ${timeouts} timed out` : ''}`,
    );
    return result;
  } finally {
    for (const gateway of gateways) await gateway.stop().catch(() => undefined);
    await operator?.stop().catch(() => undefined);
    await upstream?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  }
}

/**
 * Polls one gateway until the API key gets `status`; resolves with the time (performance.now())
 * of the first such answer, or undefined after the timeout.
 */
async function enforcedAt(
  origin: string,
  apiKey: string,
  status: number,
): Promise<number | undefined> {
  const deadline = performance.now() + CHANGE_TIMEOUT_MS;
  while (performance.now() < deadline) {
    try {
      const response = await fetch(`${origin}/bench/v1/keyed`, {
        headers: { 'x-api-key': apiKey },
      });
      await response.arrayBuffer();
      if (response.status === status) return performance.now();
    } catch {
      // not serving yet
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  return undefined;
}

/** operator/rbac/*.yaml for the system namespace and environment used here. */
async function rbacObjects(): Promise<object[]> {
  const objects: object[] = [];
  for (const file of ['operator-clusterrole.yaml', 'gateway-role.yaml']) {
    const text = await readFile(join(ROOT, 'operator/rbac', file), 'utf8');
    for (const document of parseAllDocuments(text)) {
      const object = document.toJS() as { metadata: { namespace?: string } };
      if (object.metadata.namespace) object.metadata.namespace = SYSTEM_NAMESPACE;
      objects.push(object);
    }
  }
  return objects;
}

function apiObject(backend: string): object {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Api',
    metadata: { name: 'propagation-api', namespace: NAMESPACE },
    spec: {
      basePath: '/bench/v1',
      environments: [ENVIRONMENT],
      backend: { url: backend },
      openapi: {
        inline: [
          'openapi: 3.1.0',
          'info: {title: Propagation, version: 1.0.0}',
          'components:',
          '  securitySchemes:',
          '    apiKey: {type: apiKey, in: header, name: x-api-key}',
          'paths:',
          '  /keyed:',
          '    get:',
          '      security: [{apiKey: []}]',
          "      responses: {'200': {description: ok}}",
          '',
        ].join('\n'),
      },
    },
  };
}

function subscriptionObject(suspended: boolean): object {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Subscription',
    metadata: { name: 'propagation', namespace: NAMESPACE },
    spec: {
      api: { name: 'propagation-api' },
      credentials: { existingSecret: 'propagation-credentials' },
      suspended,
    },
  };
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
