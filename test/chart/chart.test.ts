// charts/apiway checked with the real helm (test/chart/build-helm.sh): lint, golden renders,
// values the schema or the templates refuse, and what every rendered workload must hold.
// Whether the API server accepts the manifests and the RBAC suffices is chart.int.test.ts.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKubernetesCommandLine } from '../../gateway/src/kubernetes/command-line.ts';
import { parseOperatorArgs } from '../../operator/src/options.ts';
import {
  CHART_DIR,
  findManifest,
  helm,
  type Manifest,
  parseManifests,
  REPO_ROOT,
  renderChart,
  renderManifests,
} from './helm.ts';

const GOLDEN_DIR = join(import.meta.dirname, 'golden');
const cases = readdirSync(GOLDEN_DIR).sort();

// biome-ignore lint/suspicious/noExplicitAny: a container of a rendered Deployment
type Container = any;

function deployments(objects: readonly Manifest[]): Manifest[] {
  return objects.filter((o) => o.kind === 'Deployment');
}

function containerOf(deployment: Manifest): Container {
  return deployment.spec.template.spec.containers[0];
}

describe('charts/apiway', () => {
  it('passes helm lint --strict with its defaults and with every golden value set', async () => {
    const lint = await helm(['lint', CHART_DIR, '--strict']);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
    for (const name of cases) {
      const values = join(GOLDEN_DIR, name, 'values.yaml');
      const result = await helm(['lint', CHART_DIR, '--strict', '--values', values]);
      expect(result.code, `${name}:\n${result.stdout}${result.stderr}`).toBe(0);
    }
  });

  // Regenerate with UPDATE_GOLDEN=1 after an intended change, and read the diff.
  it.each(cases)('renders golden/%s/values.yaml as its out.yaml', async (name) => {
    const rendered = await renderManifests({
      valuesFiles: [join(GOLDEN_DIR, name, 'values.yaml')],
    });
    const outFile = join(GOLDEN_DIR, name, 'out.yaml');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(outFile, rendered);
    expect(rendered).toBe(readFileSync(outFile, 'utf8'));
  });

  it('ships the CRDs of crds/ unchanged', () => {
    const repo = readdirSync(join(REPO_ROOT, 'crds')).sort();
    const chart = readdirSync(join(CHART_DIR, 'crds')).sort();
    const hint = 'copy them: cp crds/*.yaml charts/apiway/crds/';
    expect(chart, hint).toEqual(repo);
    for (const file of repo) {
      expect(readFileSync(join(CHART_DIR, 'crds', file), 'utf8'), `${file}: ${hint}`).toBe(
        readFileSync(join(REPO_ROOT, 'crds', file), 'utf8'),
      );
    }
  });
});

describe('values the chart refuses, with the reason', () => {
  const refused: Array<[string, object, RegExp]> = [
    ['a misspelt key', { gateway: { replica: 3 } }, /'replica' not allowed/],
    [
      'an environment name that is not a DNS label',
      { gateway: { environments: [{ name: 'Prod_1' }] } },
      /\/gateway\/environments\/0\/name/,
    ],
    [
      'an environment without a name',
      { gateway: { environments: [{ publicUrl: 'https://api.example.com' }] } },
      /missing property 'name'/,
    ],
    [
      'a public URL with a query',
      {
        gateway: {
          environments: [{ name: 'alpha', publicUrl: 'https://api.example.com/?x=1' }],
        },
      },
      /\/gateway\/environments\/0\/publicUrl/,
    ],
    [
      'a public URL that is not http(s)',
      {
        gateway: {
          environments: [{ name: 'alpha', publicUrl: 'ftp://api.example.com' }],
        },
      },
      /\/gateway\/environments\/0\/publicUrl/,
    ],
    [
      'an environment listed twice',
      { gateway: { environments: [{ name: 'alpha' }, { name: 'alpha' }] } },
      /"alpha" is listed twice/,
    ],
    [
      'an external Redis with the internal one still on',
      { redis: { external: { url: 'redis://redis.example:6379' } } },
      /\/redis\/internal\/enabled': value must be false/,
    ],
    [
      'a Redis URL with a password in it',
      {
        redis: {
          external: { url: 'redis://:hunter2@redis.example:6379' },
          internal: { enabled: false },
        },
      },
      /\/redis\/external\/url/,
    ],
    [
      'two operator replicas without leader election',
      { operator: { replicas: 2, leaderElect: false } },
      /\/operator\/leaderElect': value must be true/,
    ],
    ['an unknown log level', { gateway: { logLevel: 'verbose' } }, /\/gateway\/logLevel/],
    [
      'a duration that is not one',
      { operator: { keyRotationInterval: '30 days' } },
      /\/operator\/keyRotationInterval/,
    ],
    ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, /\/image\/pullPolicy/],
    [
      'autoscaling whose maximum is below the replicas',
      {
        gateway: {
          replicas: 5,
          autoscaling: {
            enabled: true,
            maxReplicas: 3,
            targetCPUUtilizationPercentage: 70,
          },
        },
      },
      /maxReplicas \(3\) is below replicas \(5\)/,
    ],
    [
      'a release name that makes a Service name too long',
      { fullnameOverride: 'a'.repeat(50) },
      /longer than 63 characters/,
    ],
  ];

  it.each(refused)('refuses %s', async (_what, values, reason) => {
    const result = await renderChart({ values });
    expect(result.code, result.stdout).not.toBe(0);
    expect(result.stderr).toMatch(reason);
  });
});

describe('what every render holds', () => {
  // Rendered once per case, on first use (not while the tests are collected).
  const rendered = new Map<string, Promise<Manifest[]>>();
  const renders = cases.map((name) => ({
    name,
    get objects(): Promise<Manifest[]> {
      let objects = rendered.get(name);
      if (!objects) {
        objects = renderManifests({ valuesFiles: [join(GOLDEN_DIR, name, 'values.yaml')] }).then(
          parseManifests,
        );
        rendered.set(name, objects);
      }
      return objects;
    },
  }));

  it.each(renders)('$name: the Kubernetes recommended labels on every object', async (render) => {
    for (const object of await render.objects) {
      expect(object.metadata.labels, `${object.kind}/${object.metadata.name}`).toMatchObject({
        'app.kubernetes.io/name': 'apiway',
        'app.kubernetes.io/instance': 'apiway',
        'app.kubernetes.io/version': '0.1.0',
        'app.kubernetes.io/part-of': 'apiway',
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/component': expect.any(String),
      });
    }
  });

  it.each(renders)(
    '$name: every pod runs non-root, read-only, without capabilities',
    async (render) => {
      for (const deployment of deployments(await render.objects)) {
        const pod = deployment.spec.template.spec;
        const what = `Deployment/${deployment.metadata.name}`;
        expect(pod.securityContext, what).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const container of pod.containers) {
          expect(container.securityContext, what).toEqual({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources?.requests, what).toBeDefined();
          expect(container.readinessProbe, what).toBeDefined();
          expect(container.livenessProbe, what).toBeDefined();
        }
      }
    },
  );

  it.each(renders)(
    '$name: operator and gateway arguments are ones the programs accept',
    async (render) => {
      const objects = await render.objects;
      const [operator] = deployments(objects).filter(
        (d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'operator',
      );
      const [program, ...operatorArgs] = containerOf(operator as Manifest).args as string[];
      expect(program).toBe('operator');
      const options = parseOperatorArgs(operatorArgs, 'pod');
      expect(options.systemNamespace).toBe('apiway-system');

      const gateways = deployments(objects).filter(
        (d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'gateway',
      );
      expect(gateways.length).toBeGreaterThan(0);
      for (const gateway of gateways) {
        const [gatewayProgram, ...args] = containerOf(gateway).args as string[];
        expect(gatewayProgram).toBe('gateway');
        const parsed = parseKubernetesCommandLine(args, 'pod');
        if (parsed.kind !== 'run') throw new Error(`${gateway.metadata.name}: ${parsed.message}`);
        const environment = gateway.metadata.labels?.['apiway.net/environment'] as string;
        expect(parsed.command).toMatchObject({
          environment,
          namespace: 'apiway-system',
          host: '0.0.0.0', // reachable from the Service, not only from inside the pod
          port: 8080,
          adminPort: 9090,
        });
        // The operator writes the same URL into credential Secrets (token_url).
        expect(options.publicUrls.get(environment)).toBe(parsed.command.publicUrl);
      }
    },
  );

  it.each(renders)('$name: gateways drain before they are killed', async (render) => {
    for (const gateway of deployments(await render.objects).filter(
      (d) => d.metadata.labels?.['app.kubernetes.io/component'] === 'gateway',
    )) {
      const pod = gateway.spec.template.spec;
      const container = containerOf(gateway);
      const [, seconds] = container.lifecycle.preStop.exec.command as [string, string];
      const args = container.args as string[];
      const shutdown = Number(
        args.find((a) => a.startsWith('--shutdown-timeout='))?.split('=')[1] ?? Number.NaN,
      );
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + shutdown);
      expect(gateway.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it.each(renders)(
    '$name: a gateway may read only its own environment signing keys and IdP login secrets',
    async (render) => {
      const objects = await render.objects;
      for (const role of objects.filter(
        (o) =>
          o.kind === 'Role' && o.metadata.labels?.['app.kubernetes.io/component'] === 'gateway',
      )) {
        const environment = role.metadata.labels?.['apiway.net/environment'];
        const secretRules = (role.rules ?? []).filter((rule) => rule.resources.includes('secrets'));
        expect(secretRules).toEqual([
          {
            apiGroups: [''],
            resources: ['secrets'],
            resourceNames: [
              `apiway-signing-keys-${environment}`,
              `apiway-idp-logins-${environment}`,
            ],
            verbs: ['get', 'list', 'watch'],
          },
        ]);
        for (const rule of role.rules ?? []) {
          if (rule.resources.includes('configmaps'))
            expect(rule.verbs).toEqual(['get', 'list', 'watch']);
        }
      }
      // No ClusterRole or ClusterRoleBinding gives a gateway anything.
      for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) {
        for (const subject of binding.subjects ?? []) expect(subject.name).not.toMatch(/gateway/);
      }
    },
  );
});

describe('namespaced operator (operator.watchNamespace)', () => {
  it('grants the four kinds and Secrets in that namespace only, through a Role', async () => {
    const objects = parseManifests(
      await renderManifests({
        valuesFiles: [join(GOLDEN_DIR, 'namespaced', 'values.yaml')],
      }),
    );
    const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole');
    expect(clusterRoles.map((r) => r.rules)).toEqual([
      [
        {
          apiGroups: [''],
          resources: ['namespaces'],
          resourceNames: ['apiway-system'],
          verbs: ['get'],
        },
      ],
    ]);
    const watched = findManifest(objects, 'Role', 'apiway-operator-watched');
    expect(watched.metadata.namespace).toBe('team-a');
    expect(watched.rules?.some((rule) => rule.resources.includes('secrets'))).toBe(true);
  });
});

describe('redis values', () => {
  it('passes a Redis Cluster URL and the password Secret to every gateway', async () => {
    const objects = parseManifests(
      await renderManifests({
        values: {
          redis: {
            external: {
              url: 'redis://redis-0.redis:6379',
              cluster: true,
              existingSecret: 'redis-auth',
            },
            internal: { enabled: false },
          },
        },
      }),
    );
    const container = containerOf(findManifest(objects, 'Deployment', 'apiway-gateway-alpha'));
    const parsed = parseKubernetesCommandLine((container.args as string[]).slice(1), 'pod');
    if (parsed.kind !== 'run') throw new Error(parsed.message);
    expect(parsed.command).toMatchObject({
      redisUrl: 'redis://redis-0.redis:6379',
      redisCluster: true,
    });
    expect(container.env).toEqual([
      {
        name: 'APIWAY_REDIS_PASSWORD',
        valueFrom: {
          secretKeyRef: { name: 'redis-auth', key: 'redis-password' },
        },
      },
    ]);
    expect(objects.some((o) => o.metadata.name === 'apiway-redis')).toBe(false);
  });

  it('runs the in-chart Redis for trials, reachable by the gateways only', async () => {
    const objects = parseManifests(
      await renderManifests({ values: { networkPolicy: { enabled: true } } }),
    );
    const redis = findManifest(objects, 'Deployment', 'apiway-redis');
    expect(redis.spec.template.spec.automountServiceAccountToken).toBe(false);
    const container = containerOf(findManifest(objects, 'Deployment', 'apiway-gateway-alpha'));
    expect(container.args).toContain('--redis-url=redis://apiway-redis.apiway-system.svc:6379');
    const policy = findManifest(objects, 'NetworkPolicy', 'apiway-redis');
    expect(policy.spec.ingress).toEqual([
      {
        ports: [{ port: 'redis', protocol: 'TCP' }],
        from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'apiway',
                'app.kubernetes.io/instance': 'apiway',
                'app.kubernetes.io/component': 'gateway',
              },
            },
          },
        ],
      },
    ]);
  });
});

describe('the chart RBAC and operator/rbac/ (the rules the programs are developed against)', () => {
  const rbacFile = (name: string) =>
    parseManifests(readFileSync(join(REPO_ROOT, 'operator/rbac', name), 'utf8'));
  const withoutNamespaces = (rules: Manifest['rules']) =>
    (rules ?? []).filter((rule) => !rule.resources.includes('namespaces'));

  it('grants the operator the same rules, its namespace read narrowed to the system namespace', async () => {
    const objects = parseManifests(await renderManifests());
    const reference = rbacFile('operator-clusterrole.yaml');
    expect(findManifest(objects, 'ClusterRole', 'apiway-operator').rules).toEqual(
      withoutNamespaces(findManifest(reference, 'ClusterRole', 'apiway-operator').rules),
    );
    expect(findManifest(objects, 'Role', 'apiway-operator').rules).toEqual(
      findManifest(reference, 'Role', 'apiway-operator').rules,
    );
    expect(findManifest(objects, 'ClusterRole', 'apiway-operator-namespace').rules).toEqual([
      {
        apiGroups: [''],
        resources: ['namespaces'],
        resourceNames: ['apiway-system'],
        verbs: ['get'],
      },
    ]);
  });

  it('grants each gateway the rules of gateway-role.yaml for its environment', async () => {
    const objects = parseManifests(
      await renderManifests({ valuesFiles: [join(GOLDEN_DIR, 'production', 'values.yaml')] }),
    );
    const [reference] = rbacFile('gateway-role.yaml');
    for (const environment of ['prod', 'staging']) {
      const expected = JSON.parse(
        JSON.stringify(reference?.rules)
          .replaceAll('apiway-signing-keys-alpha', `apiway-signing-keys-${environment}`)
          .replaceAll('apiway-idp-logins-alpha', `apiway-idp-logins-${environment}`),
      );
      expect(findManifest(objects, 'Role', `apiway-gateway-${environment}`).rules).toEqual(
        expected,
      );
    }
  });
});
