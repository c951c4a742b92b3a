// charts/apiway against the real API server (test/control-plane): the rendered manifests are
// accepted, applying them twice changes nothing, the RBAC they grant allows what the programs do
// and refuses what they must never do, and the operator and two gateways run with exactly that
// RBAC (ServiceAccount tokens) and the Deployments' own command lines, through the end-to-end
// scenarios that the kind tier runs too (test/scenarios/).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigPath } from '../control-plane/kube.ts';
import { useTestNamespace } from '../control-plane/namespace.ts';
import { clusterAccess, condition, eventually, secretValue } from '../scenarios/cluster-access.ts';
import { describeGatewayScenarios } from '../scenarios/gateway-scenarios.ts';
import { send } from '../support/http-client.ts';
import { type EchoBackend, freePort, startEchoBackend } from '../support/http-server.ts';
import { type RedisServer, startRedis } from '../support/redis-server.ts';
import {
  CHART_DIR,
  findManifest,
  helm,
  type Manifest,
  parseManifests,
  renderManifests,
} from './helm.ts';
import { type RunningProgram, runContainer, serviceAccountKubeconfig } from './programs.ts';

const run = promisify(execFile);

const system = useTestNamespace('chart-system');
const tenant = useTestNamespace('chart-tenant');
const release = `apiway-${randomBytes(3).toString('hex')}`;
const PUBLIC_URL = 'https://api.apiway.test';
const operatorSa = `${release}-operator`;
const gatewaySa = `${release}-gateway-alpha`;

let dir: string;
let redis: RedisServer;
let backend: EchoBackend;
let manifests: string;
let objects: Manifest[];
let operator: RunningProgram | undefined;
const gateways: Array<RunningProgram & { url: string; adminUrl: string }> = [];
let operatorAdminUrl: string;

async function admin(args: string[], input?: string): Promise<string> {
  return (await adminWithWarnings(args, input)).stdout;
}

/** kubectl as the control plane's admin; stderr holds the API server's warnings. */
async function adminWithWarnings(
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  const child = run('kubectl', ['--kubeconfig', kubeconfigPath('admin'), ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  try {
    return await child;
  } catch (error) {
    const failed = error as { stderr?: string; stdout?: string; code?: number };
    throw Object.assign(new Error(`kubectl ${args.join(' ')}: ${failed.stderr ?? ''}`), {
      code: failed.code,
      stdout: failed.stdout,
    });
  }
}

/** `kubectl auth can-i` as a ServiceAccount: true for "yes". */
async function canI(serviceAccount: string, args: string[], namespace = system): Promise<boolean> {
  try {
    await admin([
      'auth',
      'can-i',
      `--as=system:serviceaccount:${namespace}:${serviceAccount}`,
      ...args,
    ]);
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 1) return false; // "no"
    throw error;
  }
}

const applyArgs = ['apply', '--server-side', '--field-manager=helm', '-f', '-'];

/** helm against the test control plane, as its admin; fails with helm's own words. */
async function helmAdmin(args: string[]): Promise<string> {
  const result = await helm(['--kubeconfig', kubeconfigPath('admin'), ...args]);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** Every object of the release, with its resourceVersion, as `Kind/name=version` lines. */
async function resourceVersions(): Promise<string[]> {
  const list = JSON.parse(await admin(['get', '-f', '-', '-o', 'json'], manifests)) as {
    items: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }>;
  };
  return list.items.map((o) => `${o.kind}/${o.metadata.name}=${o.metadata.resourceVersion}`);
}

let valuesFile: string;
let installOutput: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'apiway-chart-int-'));
  [redis, backend] = await Promise.all([startRedis(), startEchoBackend()]);
  valuesFile = join(dir, 'values.yaml');
  await writeFile(
    valuesFile,
    JSON.stringify({
      gateway: {
        environments: [{ name: 'alpha', publicUrl: PUBLIC_URL }],
        autoscaling: { enabled: false },
      },
      redis: { external: { url: redis.url }, internal: { enabled: false } },
      networkPolicy: { enabled: true },
      // The RBAC is the chart's cluster-wide default; the operator is only told to look at
      // the test's namespace, so that it leaves other test files' objects alone.
      operator: { extraArgs: [`--namespace=${tenant}`] },
    }),
  );
  // As docs/install-helm.md says (the chart from this repository, values in a file).
  installOutput = await helmAdmin([
    'install',
    release,
    CHART_DIR,
    '--namespace',
    system,
    '--create-namespace',
    '--values',
    valuesFile,
  ]);
  manifests = await helmAdmin(['get', 'manifest', release, '--namespace', system]);
  objects = parseManifests(manifests);

  const operatorConfig = await serviceAccountKubeconfig(
    kubeconfigPath('admin'),
    system,
    operatorSa,
    join(dir, 'operator.kubeconfig'),
  );
  const gatewayConfig = await serviceAccountKubeconfig(
    kubeconfigPath('admin'),
    system,
    gatewaySa,
    join(dir, 'gateway.kubeconfig'),
  );

  const operatorPort = await freePort();
  operatorAdminUrl = `http://127.0.0.1:${operatorPort}`;
  operator = runContainer(findManifest(objects, 'Deployment', operatorSa), {
    kubeconfig: operatorConfig,
    replace: { '--metrics-port': String(operatorPort) },
  });
  await operator.waitForOutput((output) => output.includes('"msg":"controllers started"'));

  for (const pod of ['a', 'b']) {
    const [port, adminPort] = [await freePort(), await freePort()];
    const gateway = runContainer(findManifest(objects, 'Deployment', gatewaySa), {
      kubeconfig: gatewayConfig,
      replace: {
        '--host': '127.0.0.1',
        '--port': String(port),
        '--admin-port': String(adminPort),
      },
      // In a pod, the identity is the host name: the pod's name.
      extra: [`--identity=${gatewaySa}-${pod}`],
    });
    gateways.push({
      ...gateway,
      url: `http://127.0.0.1:${port}`,
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
    await gateway.waitForOutput((output) => output.includes('"event":"listening"'));
  }
});

afterAll(async () => {
  await Promise.all([...gateways.map((g) => g.stop()), operator?.stop()]);
  await Promise.all([backend?.close(), redis?.stop()]);
  // Cluster-scoped objects do not go with the test namespaces.
  if (installOutput) await helmAdmin(['uninstall', release, '--namespace', system]);
  await rm(dir, { recursive: true, force: true });
});

describe('the rendered chart on a real API server', () => {
  it('is accepted whole for every golden value set, its pods meeting the restricted Pod Security Standard', async () => {
    // The API server then warns about every workload whose pod template would violate it.
    await admin(['label', 'namespace', system, 'pod-security.kubernetes.io/warn=restricted']);
    for (const name of ['default', 'production', 'namespaced']) {
      const rendered = parseManifests(
        await renderManifests({
          release: `dry-${randomBytes(3).toString('hex')}`,
          namespace: system,
          valuesFiles: [join(import.meta.dirname, 'golden', name, 'values.yaml')],
        }),
      );
      // The ServiceMonitor kind comes with the Prometheus Operator, which is not installed here.
      const served = rendered.filter((o) => o.kind !== 'ServiceMonitor');
      for (const object of served) {
        // namespaced/: its watched namespace (team-a) does not exist here.
        if (object.metadata.namespace === 'team-a') object.metadata.namespace = tenant;
      }
      const { stdout, stderr } = await adminWithWarnings(
        [...applyArgs.slice(0, -2), '--dry-run=server', '-o', 'name', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: served }),
      );
      expect(stdout.trim().split('\n'), name).toHaveLength(served.length);
      expect(stderr, name).not.toMatch(/PodSecurity/);
      expect(served.filter((o) => o.kind === 'Deployment').length).toBeGreaterThan(1);
    }
  });

  it('tells at install what it installed, and where each environment is reached', () => {
    expect(installOutput).toContain(`apiway 0.1.0 is installed in namespace ${system}`);
    expect(installOutput).toContain(`alpha: Service ${gatewaySa}, public URL ${PUBLIC_URL}`);
    expect(installOutput).not.toContain('WARNING'); // an external Redis
  });

  it('takes the chart CRDs applied over the installed ones (docs/install-helm.md)', async () => {
    const crds = join(CHART_DIR, 'crds');
    await admin(['apply', '--server-side', '--force-conflicts', '-f', crds]);
    await admin(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  });

  it('changes nothing when upgraded with the same values', async () => {
    const before = await resourceVersions();
    expect(before.length).toBe(objects.length);
    await helmAdmin(['upgrade', release, CHART_DIR, '--namespace', system, '--values', valuesFile]);
    expect(await resourceVersions()).toEqual(before);
  });
});

describe('the RBAC the chart grants (kubectl auth can-i --as=system:serviceaccount:...)', () => {
  it('lets the operator do what it does', async () => {
    const allowed: string[][] = [
      ['list', 'apis.apiway.net', '--all-namespaces'],
      ['watch', 'subscriptions.apiway.net', '--all-namespaces'],
      ['patch', 'apis.apiway.net', '--subresource=status', '-n', tenant],
      ['update', 'subscriptions.apiway.net', '--subresource=finalizers', '-n', tenant],
      ['create', 'secrets', '-n', tenant],
      ['delete', 'secrets', '-n', tenant],
      ['get', 'configmaps', '-n', tenant],
      ['create', 'events', '-n', tenant],
      ['create', 'configmaps', '-n', system],
      ['update', 'leases.coordination.k8s.io', '-n', system],
      ['get', `namespaces/${system}`],
    ];
    for (const args of allowed) expect(await canI(operatorSa, args), args.join(' ')).toBe(true);
  });

  it('refuses the operator what it must never do', async () => {
    const refused: string[][] = [
      ['update', 'apis.apiway.net', '-n', tenant], // spec belongs to the user
      ['patch', 'subscriptions.apiway.net', '-n', tenant],
      ['delete', 'subscriptions.apiway.net', '-n', tenant],
      ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'namespaces'],
      ['get', 'namespaces/kube-system'],
      ['create', 'configmaps', '-n', tenant],
      ['create', 'leases.coordination.k8s.io', '-n', tenant],
      ['create', 'pods', '-n', system],
      ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', system],
    ];
    for (const args of refused) expect(await canI(operatorSa, args), args.join(' ')).toBe(false);
  });

  it('lets a gateway read its snapshot and signing keys and write its report', async () => {
    const allowed: string[][] = [
      ['list', 'configmaps', '-n', system],
      ['watch', 'configmaps', '-n', system],
      ['get', 'secrets/apiway-signing-keys-alpha', '-n', system],
      ['watch', 'secrets/apiway-signing-keys-alpha', '-n', system],
      ['get', 'secrets/apiway-idp-logins-alpha', '-n', system],
      ['watch', 'secrets/apiway-idp-logins-alpha', '-n', system],
      ['create', 'leases.coordination.k8s.io', '-n', system],
      ['patch', 'leases.coordination.k8s.io', '-n', system],
      ['delete', 'leases.coordination.k8s.io', '-n', system],
    ];
    for (const args of allowed) expect(await canI(gatewaySa, args), args.join(' ')).toBe(true);
  });

  it('refuses a gateway every credential, every write but its report, and other environments keys', async () => {
    const refused: string[][] = [
      ['get', 'secrets/direct-credentials', '-n', tenant],
      ['list', 'secrets', '-n', tenant],
      ['list', 'secrets', '-n', system],
      ['get', 'secrets/apiway-signing-keys-beta', '-n', system],
      ['get', 'secrets/apiway-idp-logins-beta', '-n', system],
      ['create', 'configmaps', '-n', system],
      ['update', 'configmaps', '-n', system],
      ['delete', 'configmaps', '-n', system],
      ['get', 'configmaps', '-n', tenant],
      ['list', 'apis.apiway.net', '--all-namespaces'],
      ['list', 'leases.coordination.k8s.io', '-n', system],
    ];
    for (const args of refused) expect(await canI(gatewaySa, args), args.join(' ')).toBe(false);
  });
});

describe('the programs under the chart RBAC and command lines', () => {
  it('answer the Deployments probes', async () => {
    const probes = (deployment: Manifest) => {
      const container = deployment.spec.template.spec.containers[0];
      return [container.livenessProbe, container.readinessProbe, container.startupProbe].map(
        (probe: { httpGet: { path: string; port: string } }) => probe.httpGet,
      );
    };
    for (const probe of probes(findManifest(objects, 'Deployment', operatorSa))) {
      expect(probe.port).toBe('metrics');
      const response = await fetch(`${operatorAdminUrl}${probe.path}`);
      expect(response.status, `operator ${probe.path}`).toBe(200);
    }
    for (const gateway of gateways) {
      for (const probe of probes(findManifest(objects, 'Deployment', gatewaySa))) {
        expect(probe.port).toBe('admin');
        const response = await fetch(`${gateway.adminUrl}${probe.path}`);
        expect(response.status, `gateway ${probe.path}`).toBe(200);
      }
    }
  });
});

describeGatewayScenarios('end-to-end scenarios (shared with the kind tier)', () => ({
  kubeconfig: kubeconfigPath('admin'),
  namespace: tenant,
  environment: 'alpha',
  gatewayUrl: gateways[0]?.url ?? '',
  publicUrl: PUBLIC_URL,
  backendUrl: backend.url,
  replicas: gateways.length,
}));

describe('after the scenarios', () => {
  it('the operator wrote status only, never spec (managed fields)', async () => {
    const cluster = clusterAccess(kubeconfigPath('admin'));
    for (const plural of ['apis', 'products', 'subscriptions'] as const) {
      const list = JSON.parse(
        await cluster.kubectl([
          'get',
          `${plural}.apiway.net`,
          '-n',
          tenant,
          '-o',
          'json',
          '--show-managed-fields',
        ]),
      );
      for (const object of list.items as Array<{
        metadata: {
          name: string;
          managedFields: Array<{ manager: string; subresource?: string }>;
        };
      }>) {
        for (const entry of object.metadata.managedFields) {
          if (entry.manager === 'apiway-tests') continue;
          expect(entry, `${plural}/${object.metadata.name}`).toMatchObject({
            subresource: 'status',
          });
        }
      }
    }
  });

  it('answers the status commands of docs/install-helm.md', async () => {
    const all = await admin(['get', 'apiway', '-A']);
    expect(all).toMatch(/items-api\s+\/items\/v1\s+\["?alpha"?\]\s+True\s+True/);
    expect(all).toMatch(/direct\s+items-api\s+false\s+True\s+True/);
    const workloads = await admin(['-n', system, 'get', 'deployments,pods']);
    expect(workloads).toContain(`deployment.apps/${gatewaySa}`);
  });

  it('no request of the operator or the gateways was refused by the API server', () => {
    for (const program of [operator, ...gateways]) {
      expect(program?.output()).not.toMatch(/forbidden/i);
    }
  });

  it('invalidates earlier tokens when the signing-key Secret is deleted (docs/operations.md)', async () => {
    const cluster = clusterAccess(kubeconfigPath('admin'));
    const secret = await cluster.secret(tenant, 'direct-credentials');
    const mint = async () => {
      const response = await send(gateways[0]?.url ?? '', {
        method: 'POST',
        path: '/items/v1/oauth2/v2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secretValue(secret, 'client_id') ?? '',
          client_secret: secretValue(secret, 'client_secret') ?? '',
        }).toString(),
      });
      expect(response.status, response.body).toBe(200);
      return { authorization: `Bearer ${response.json<{ access_token: string }>().access_token}` };
    };
    const before = await mint();
    const status = async (headers: Record<string, string>) =>
      (await send(gateways[0]?.url ?? '', { path: '/items/v1/items', headers })).status;
    expect(await status(before)).toBe(200);

    await admin(['-n', system, 'delete', 'secret', 'apiway-signing-keys-alpha']);
    await eventually(async () => (await status(before)) === 401, { intervalMs: 100 });
    await eventually(async () => (await status(await mint())) === 200, { intervalMs: 100 });
  });

  it('a gateway that stops deletes its report Lease', async () => {
    const gateway = gateways.pop();
    const stopped = await gateway?.stop();
    expect(stopped?.code, gateway?.output()).toBe(0);
    const leases = await admin(['get', 'leases', '-n', system, '-o', 'name']);
    expect(leases).toContain(`apiway-gw-alpha.${gatewaySa}-a`);
    expect(leases).not.toContain(`apiway-gw-alpha.${gatewaySa}-b`);
  });
});

describe('operator.watchNamespace', () => {
  const otherSystem = useTestNamespace('chart-ns-system');
  const watched = useTestNamespace('chart-ns-watched');
  const otherRelease = `apiway-${randomBytes(3).toString('hex')}`;
  const otherOperatorSa = `${otherRelease}-operator`;
  let namespacedOperator: RunningProgram | undefined;
  let rendered: string;
  // The GitOps way (what Argo CD does with server-side apply): `helm template`, then apply.
  const gitopsApply = ['apply', '--server-side', '--field-manager=gitops', '-f', '-'];

  beforeAll(async () => {
    rendered = await renderManifests({
      release: otherRelease,
      namespace: otherSystem,
      values: {
        operator: { watchNamespace: watched },
        gateway: { environments: [] },
      },
    });
    await admin(applyArgs, rendered);
    namespacedOperator = runContainer(
      findManifest(parseManifests(rendered), 'Deployment', otherOperatorSa),
      {
        kubeconfig: await serviceAccountKubeconfig(
          kubeconfigPath('admin'),
          otherSystem,
          otherOperatorSa,
          join(dir, 'namespaced-operator.kubeconfig'),
        ),
        replace: { '--metrics-port': '0' },
      },
    );
    await namespacedOperator.waitForOutput((output) =>
      output.includes('"msg":"controllers started"'),
    );
  });

  afterAll(async () => {
    await namespacedOperator?.stop();
    await admin([
      'delete',
      'clusterrole,clusterrolebinding',
      '-l',
      `app.kubernetes.io/instance=${otherRelease}`,
    ]);
  });

  it('shows no drift: applied again, kubectl diff finds nothing to change', async () => {
    await admin(gitopsApply, rendered);
    // Exit code 0: no differences (1 would mean the cluster differs from the manifests).
    await admin(['diff', '--server-side', '--field-manager=gitops', '-f', '-'], rendered);
  });

  it('gives the operator the watched namespace and its system namespace, nothing else', async () => {
    const can = (args: string[]) => canI(otherOperatorSa, args, otherSystem);
    expect(await can(['list', 'subscriptions.apiway.net', '-n', watched])).toBe(true);
    expect(await can(['create', 'secrets', '-n', watched])).toBe(true);
    expect(await can(['create', 'secrets', '-n', otherSystem])).toBe(true);
    expect(await can(['create', 'configmaps', '-n', otherSystem])).toBe(true);
    expect(await can(['list', 'subscriptions.apiway.net', '--all-namespaces'])).toBe(false);
    expect(await can(['list', 'subscriptions.apiway.net', '-n', tenant])).toBe(false);
    expect(await can(['get', 'secrets', '-n', tenant])).toBe(false);
    expect(await can(['create', 'events', '-n', tenant])).toBe(false);
  });

  it('is enough for the operator: it accepts an Api and provisions credentials', async () => {
    const cluster = clusterAccess(kubeconfigPath('admin'));
    await cluster.apply(
      {
        apiVersion: 'apiway.net/v1alpha1',
        kind: 'Api',
        metadata: { name: 'watched-api', namespace: watched },
        spec: {
          basePath: '/watched/v1',
          environments: ['alpha'],
          backend: { url: 'http://backend.invalid' },
          openapi: {
            inline:
              'openapi: 3.1.0\ninfo: {title: t, version: "1"}\npaths: {/x: {get: {responses: {"200": {description: ok}}}}}\n',
          },
        },
      },
      {
        apiVersion: 'apiway.net/v1alpha1',
        kind: 'Subscription',
        metadata: { name: 'watched-sub', namespace: watched },
        spec: { api: { name: 'watched-api' } },
      },
    );
    await eventually(
      async () =>
        condition(await cluster.get('apis', watched, 'watched-api'), 'Accepted')?.status === 'True',
    );
    const secret = await eventually(() => cluster.secret(watched, 'watched-sub-credentials'));
    expect(secret.data?.client_secret).toBeDefined();
    // Its snapshot and signing keys, in its own system namespace.
    await eventually(async () =>
      (await admin(['get', 'configmaps,secrets', '-n', otherSystem, '-o', 'name'])).includes(
        'secret/apiway-signing-keys-alpha',
      ),
    );
    expect(namespacedOperator?.output()).not.toMatch(/forbidden/i);
  });
});
