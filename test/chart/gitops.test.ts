// docs/gitops.md tells Argo CD and Flux how healthy an Apiway object is. Both snippets are taken
// from that page and run on objects in each state an object goes through: the Lua health check
// in gopher-lua, the interpreter Argo CD embeds (test/chart/argocd-health/, built with Go), the
// Flux health check expressions in a CEL evaluator.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const HARNESS = join(import.meta.dirname, 'argocd-health');
const KINDS = ['Api', 'Product', 'Subscription', 'IdpAssociation'];

/** The YAML blocks of docs/gitops.md, parsed (anchors resolved). */
function docsManifests(): Array<Record<string, unknown>> {
  const page = readFileSync(join(ROOT, 'docs/gitops.md'), 'utf8');
  return [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((block) =>
    parseAllDocuments(block[1] as string).map((doc) => doc.toJS() as Record<string, unknown>),
  );
}

function manifest(kind: string, name: string) {
  const found = docsManifests().find(
    (m) => m.kind === kind && (m.metadata as { name: string }).name === name,
  );
  if (!found) throw new Error(`docs/gitops.md has no ${kind} ${name}`);
  return found;
}

type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
};

/** An Api at generation 3 with the given conditions (status written for `observed`). */
function api(conditions: Condition[] | undefined, observed = 3) {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Api',
    metadata: { name: 'orders', namespace: 'shop', generation: 3 },
    spec: { basePath: '/orders/v1' },
    ...(conditions ? { status: { observedGeneration: observed, conditions } } : {}),
  };
}
const condition = (type: string, status: string, reason: string, generation = 3): Condition => ({
  type,
  status,
  reason,
  message: `${type} is ${status} (${reason})`,
  observedGeneration: generation,
});

const STATES = {
  'no status yet': api(undefined),
  'a status of the previous generation': api(
    [condition('Accepted', 'True', 'Accepted', 2), condition('Ready', 'True', 'Loaded', 2)],
    2,
  ),
  refused: api([
    condition('Accepted', 'False', 'BasePathConflict'),
    condition('Ready', 'False', 'NotAccepted'),
  ]),
  'accepted, gateways loading it': api([
    condition('Accepted', 'True', 'Accepted'),
    condition('Ready', 'False', 'GatewaysPending'),
  ]),
  served: api([condition('Accepted', 'True', 'Accepted'), condition('Ready', 'True', 'Loaded')]),
};

describe('the Argo CD health check of docs/gitops.md', () => {
  let dir: string;
  let harness: string;
  let script: string;

  beforeAll(async () => {
    const data = manifest('ConfigMap', 'argocd-cm').data as Record<string, string>;
    const scripts = KINDS.map((kind) => data[`resource.customizations.health.apiway.net_${kind}`]);
    expect(new Set(scripts).size, 'one script for the four kinds').toBe(1);
    dir = await mkdtemp(join(tmpdir(), 'apiway-argocd-health-'));
    script = join(dir, 'health.lua');
    await writeFile(script, scripts[0] as string);
    harness = join(dir, 'argocd-health');
    // Needs Go (as the control plane and helm do) and gopher-lua from the Go module proxy.
    await run('go', ['build', '-o', harness, '.'], {
      cwd: HARNESS,
      env: { ...process.env, GOFLAGS: '-buildvcs=false', GOWORK: 'off', CGO_ENABLED: '0' },
    });
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const health = async (object: object) => {
    const child = run(harness, [script]);
    child.child.stdin?.end(JSON.stringify(object));
    return JSON.parse((await child).stdout) as { status: string; message: string };
  };

  it.each([
    ['no status yet', 'Progressing'],
    ['a status of the previous generation', 'Progressing'],
    ['refused', 'Degraded'],
    ['accepted, gateways loading it', 'Progressing'],
    ['served', 'Healthy'],
  ] as const)('%s: %s', async (state, expected) => {
    const result = await health(STATES[state]);
    expect(result.status).toBe(expected);
    if (state === 'refused') expect(result.message).toMatch(/^BasePathConflict: /);
    if (state === 'accepted, gateways loading it')
      expect(result.message).toMatch(/^GatewaysPending: /);
  });
});

describe('the Flux health check expressions of docs/gitops.md', () => {
  const checks = (
    manifest('Kustomization', 'apis').spec as {
      healthCheckExprs: Array<{ kind: string; current: string; failed: string }>;
    }
  ).healthCheckExprs;

  /** JSON as Kubernetes hands it to CEL: whole numbers are ints. */
  const toCel = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(toCel);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
    }
    return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
  };
  const evaluate = (expression: string, object: Record<string, unknown>): boolean => {
    const program = plan(celEnv(), parse(expression)) as (
      bindings: Record<string, unknown>,
    ) => unknown;
    // Flux evaluates with the object's top-level fields as variables (an object without a
    // status yet has an empty one here).
    const result = program(toCel({ status: {}, ...object }) as Record<string, unknown>);
    if (isCelError(result)) throw new Error(`${expression}: ${result.message}`);
    return result as boolean;
  };

  it('covers the four kinds with the same expressions', () => {
    expect(checks.map((c) => c.kind)).toEqual(KINDS);
    expect(new Set(checks.map((c) => c.current)).size).toBe(1);
    expect(new Set(checks.map((c) => c.failed)).size).toBe(1);
  });

  it.each([
    ['no status yet', false, false],
    ['a status of the previous generation', false, false],
    ['refused', false, true],
    ['accepted, gateways loading it', false, false],
    ['served', true, false],
  ] as const)('%s: current=%s failed=%s', (state, current, failed) => {
    const [check] = checks;
    const object = STATES[state] as Record<string, unknown>;
    expect(evaluate(check?.current as string, object)).toBe(current);
    expect(evaluate(check?.failed as string, object)).toBe(failed);
  });
});
