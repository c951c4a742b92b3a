/**
 * Reading a standalone config directory: every `*.yaml`, `*.yml` and `*.json` file under it
 * (recursively, through symlinks; dot-files, dot-directories, `node_modules` and the state dir
 * are skipped), each file a stream of YAML documents, each document one object. Apiway
 * resources are validated with the CRD schemas (the same messages `kubectl apply` gives); core
 * `Secret` and `ConfigMap` objects are read for `existingSecret` and `openapi.configMapRef`;
 * `Namespace` objects are accepted and ignored (they exist so `kubectl apply -f DIR` works on
 * the same files); a `List` is read item by item, as kubectl does. Anything else is reported
 * and ignored.
 *
 * This module reads and classifies; deciding what to serve when something is wrong (keeping
 * last good versions, duplicates) is `select-objects.ts`.
 */

import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { API_VERSION, type ApiwayResource, type SecretResource } from '../resources/types.ts';

export type ConfigKind =
  | 'Api'
  | 'Product'
  | 'Subscription'
  | 'IdpAssociation'
  | 'Secret'
  | 'ConfigMap';

const APIWAY_KINDS = new Set<string>(['Api', 'Product', 'Subscription', 'IdpAssociation']);
const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The core/v1 ConfigMap fields Apiway reads (`openapi.configMapRef`). */
export interface ConfigMapResource {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string };
  data?: Record<string, string>;
}

export type ConfigResource = ApiwayResource | SecretResource | ConfigMapResource;

/** Where a document is, for messages a person can act on: `file (document 2) Kind ns/name`. */
export interface DocumentLocation {
  /** Relative to the config dir, `/`-separated. */
  file: string;
  /** 1-based position of the document in its file (a List's items count as its own position). */
  document: number;
}

/** A document that names an object: valid (`object` set) or not (`errors` set). */
export interface ConfigEntry extends DocumentLocation {
  kind: ConfigKind;
  namespace: string;
  name: string;
  object?: ConfigResource;
  errors?: string[];
}

export interface ConfigProblem {
  severity: 'error' | 'warning';
  /** Who and where, e.g. `acme/subs.yaml (document 2) Subscription acme/acme-narrow`. */
  subject: string;
  message: string;
}

export interface ConfigFile {
  file: string;
  /** False when the file could not be read or parsed at all: nothing in it is known. */
  readable: boolean;
  entries: ConfigEntry[];
}

export interface ConfigDirRead {
  files: ConfigFile[];
  /** Everything wrong that is not an invalid object (unparsable files, unknown kinds...). */
  problems: ConfigProblem[];
}

/** Validates an Apiway resource against its CRD schema (defaults applied when valid). */
export interface ResourceCheck {
  validate(
    object: unknown,
  ): { ok: true; resource: ApiwayResource } | { ok: false; errors: string[] };
}

export interface ReadConfigDirOptions {
  validator: ResourceCheck;
  /** Absolute paths never read (the state dir, when it lives under the config dir). */
  exclude?: string[];
}

export async function readConfigDir(
  configDir: string,
  options: ReadConfigDirOptions,
): Promise<ConfigDirRead> {
  const root = resolve(configDir);
  const exclude = (options.exclude ?? []).map((path) => resolve(path));
  const paths = await listConfigFiles(root, exclude);
  const files: ConfigFile[] = [];
  const problems: ConfigProblem[] = [];
  for (const path of paths) {
    const file = relative(root, path).split(sep).join('/');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      // Deleted between listing and reading (an editor's save dance): the next event rereads it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push({
        severity: 'error',
        subject: file,
        message: `cannot be read: ${errorCode(error)}`,
      });
      files.push({ file, readable: false, entries: [] });
      continue;
    }
    files.push(parseConfigFile(file, text, options.validator, problems));
  }
  return { files, problems };
}

/**
 * Every config file under `root`, sorted, so objects and messages come in a stable order.
 * Symbolic links are followed (a mounted ConfigMap's files are symlinks through `..data`),
 * each directory read once by its real path, so a link loop ends.
 */
async function listConfigFiles(root: string, exclude: string[]): Promise<string[]> {
  const found: string[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      const real = await realpath(dir);
      if (visited.has(real)) return;
      visited.add(real);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (dir !== root && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (exclude.some((excluded) => path === excluded || path.startsWith(excluded + sep)))
        continue;
      // A dangling link (an editor's lock file) is nothing to read.
      const target = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
      if (target?.isDirectory()) await walk(path);
      else if (target?.isFile() && CONFIG_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        found.push(path);
      }
    }
  };
  await walk(root);
  return found.sort();
}

/** Parses one file's text. Pure (exported for tests). */
export function parseConfigFile(
  file: string,
  text: string,
  validator: ResourceCheck,
  problems: ConfigProblem[],
): ConfigFile {
  const documents = parseDocuments(file, text, problems);
  if (documents === undefined) return { file, readable: false, entries: [] };
  const entries: ConfigEntry[] = [];
  documents.forEach((value, index) => {
    const location = { file, document: index + 1 };
    if (value === null || value === undefined) return; // an empty document (`---` at the end)
    if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) {
      for (const item of value.items) classify(item, location, validator, entries, problems);
      return;
    }
    classify(value, location, validator, entries, problems);
  });
  return { file, readable: true, entries };
}

function parseDocuments(
  file: string,
  text: string,
  problems: ConfigProblem[],
): unknown[] | undefined {
  // JSON is YAML 1.2, but YAML's parser would accept near-JSON quietly; JSON files get JSON's rules.
  if (file.toLowerCase().endsWith('.json')) {
    try {
      return [JSON.parse(text)];
    } catch (error) {
      // V8's message quotes the text around the error, which may be a secret: report a position only.
      const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
      const where = position === undefined ? '' : ` at ${lineAndColumn(text, Number(position))}`;
      problems.push({ severity: 'error', subject: file, message: `not valid JSON${where}` });
      return undefined;
    }
  }
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending line, which may hold a secret.
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(documents)) return [];
  const errors = documents.flatMap((document) => document.errors);
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, col } = lineCounter.linePos(first.pos[0]);
    problems.push({
      severity: 'error',
      subject: file,
      message: `not valid YAML at line ${line}, column ${col}: ${first.message}`,
    });
    return undefined;
  }
  return documents.map((document) => document.toJS());
}

function classify(
  value: unknown,
  location: DocumentLocation,
  validator: ResourceCheck,
  entries: ConfigEntry[],
  problems: ConfigProblem[],
): void {
  const at = `${location.file} (document ${location.document})`;
  if (!isRecord(value) || typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
    problems.push({
      severity: 'error',
      subject: at,
      message: 'not a Kubernetes object (needs apiVersion and kind)',
    });
    return;
  }
  const { kind, apiVersion } = value;
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  // As `kubectl apply` does without `-n`: an object without a namespace lands in `default`.
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== ''
      ? metadata.namespace
      : 'default';
  if (kind === 'Namespace' && apiVersion === 'v1') return;

  const known =
    (APIWAY_KINDS.has(kind) && apiVersion === API_VERSION) ||
    ((kind === 'Secret' || kind === 'ConfigMap') && apiVersion === 'v1');
  if (!known) {
    problems.push({
      severity: 'warning',
      subject: `${at} ${kind}${name ? ` ${namespace}/${name}` : ''}`,
      message: `${apiVersion} ${kind} is not read by the standalone gateway; ignored`,
    });
    return;
  }
  if (name === '') {
    problems.push({
      severity: 'error',
      subject: `${at} ${kind}`,
      message: 'metadata.name: Required value',
    });
    return;
  }
  const withNamespace = { ...value, metadata: { ...metadata, namespace } };
  const entry: ConfigEntry = { ...location, kind: kind as ConfigKind, namespace, name };
  const checked =
    kind === 'Secret'
      ? checkSecret(withNamespace)
      : kind === 'ConfigMap'
        ? checkConfigMap(withNamespace)
        : validator.validate(withNamespace);
  if (checked.ok) entry.object = checked.resource;
  else entry.errors = checked.errors;
  entries.push(entry);
}

/** The fields of a Secret Apiway reads; never quotes a value in a message. */
function checkSecret(
  value: Record<string, unknown>,
): { ok: true; resource: SecretResource } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  for (const field of ['data', 'stringData'] as const) {
    const map = value[field];
    if (map === undefined) continue;
    if (!isRecord(map)) {
      errors.push(`${field}: Invalid value: must be a map of strings`);
      continue;
    }
    for (const [key, item] of Object.entries(map)) {
      if (typeof item !== 'string')
        errors.push(`${field}[${key}]: Invalid value: must be a string`);
      else if (field === 'data' && !/^[A-Za-z0-9+/]*={0,2}$/.test(item.replace(/\s/g, ''))) {
        errors.push(`data[${key}]: Invalid value: must be base64 (use stringData for plain text)`);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, resource: value as unknown as SecretResource };
}

function checkConfigMap(
  value: Record<string, unknown>,
): { ok: true; resource: ConfigMapResource } | { ok: false; errors: string[] } {
  const data = value.data;
  if (data !== undefined) {
    if (!isRecord(data))
      return { ok: false, errors: ['data: Invalid value: must be a map of strings'] };
    const bad = Object.entries(data).filter(([, item]) => typeof item !== 'string');
    if (bad.length > 0) {
      return {
        ok: false,
        errors: bad.map(([key]) => `data[${key}]: Invalid value: must be a string`),
      };
    }
  }
  return { ok: true, resource: value as unknown as ConfigMapResource };
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
