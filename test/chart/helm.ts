/**
 * The `helm` binary for the chart tests, and `helm template` of charts/apiway. The binary is
 * HELM, or the one test/chart/build-helm.sh built into its cache; the tests never build it
 * themselves (minutes from a cold Go module cache): without it they fail and say how to get it.
 */

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/apiway');
export const BUILD_SCRIPT = 'test/chart/build-helm.sh';
/** The Kubernetes version charts are rendered for: the test control plane's. */
export const KUBE_VERSION = 'v1.33.5';

/** The helm binary to use; throws, naming the build script, when there is none. */
export function helmBinary(): string {
  const fromEnv = process.env.HELM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`HELM=${fromEnv} does not exist`);
    return fromEnv;
  }
  const script = readFileSync(join(REPO_ROOT, BUILD_SCRIPT), 'utf8');
  const version = /^HELM_VERSION=(\S+)$/m.exec(script)?.[1];
  const cache = process.env.APIWAY_CACHE || join(homedir(), '.cache/apiway');
  const cached = join(cache, 'helm', version ?? '?', 'helm');
  if (existsSync(cached)) return cached;
  throw new Error(
    `helm ${version} is not built: run \`bash ${BUILD_SCRIPT}\` once (it builds helm from Go ` +
      `modules into ${cached}, a few minutes), or set HELM to a helm v3 binary.`,
  );
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function helm(args: string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), args, {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
      // No user configuration, plugins or repositories may change what helm does here.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: tmpdir(),
        HELM_CONFIG_HOME: join(tmpdir(), 'apiway-helm-config'),
        HELM_CACHE_HOME: join(tmpdir(), 'apiway-helm-cache'),
        HELM_DATA_HOME: join(tmpdir(), 'apiway-helm-data'),
      },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as {
      code?: unknown;
      stdout?: string;
      stderr?: string;
    };
    if (typeof failed.code !== 'number') throw error; // not an exit status: helm did not run
    return {
      code: failed.code,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values files, in order. */
  valuesFiles?: string[];
  /** Values given as an object (applied after the files). */
  values?: object;
}

/** `helm template` of charts/apiway; resolves with the result, whatever the exit code. */
export async function renderChart(options: RenderOptions = {}): Promise<HelmResult> {
  const dir = options.values ? await mkdtemp(join(tmpdir(), 'apiway-chart-')) : undefined;
  try {
    const files = [...(options.valuesFiles ?? [])];
    if (dir) {
      files.push(join(dir, 'values.json'));
      await writeFile(join(dir, 'values.json'), JSON.stringify(options.values));
    }
    return await helm([
      'template',
      options.release ?? 'apiway',
      CHART_DIR,
      '--namespace',
      options.namespace ?? 'apiway-system',
      '--kube-version',
      KUBE_VERSION,
      ...files.flatMap((file) => ['--values', file]),
    ]);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** `renderChart`, failing with helm's own words unless it succeeds. */
export async function renderManifests(options: RenderOptions = {}): Promise<string> {
  const result = await renderChart(options);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return result.stdout;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects of every kind
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: rules of Roles and ClusterRoles
  rules?: any[];
  // biome-ignore lint/suspicious/noExplicitAny: subjects of bindings
  subjects?: any[];
  // biome-ignore lint/suspicious/noExplicitAny: roleRef of bindings
  roleRef?: any;
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((object): object is Manifest => object !== null);
}

export function findManifest(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart; it has: ${names}`);
  }
  return found;
}
