/**
 * Standalone mode's snapshot source: the config dir in, snapshots out. One load is
 * read → validate → select (keep last good) → gather (OpenAPI) → issue credentials → compile;
 * the dir is watched and every change (debounced) triggers a load, so an edit is served within
 * a second. Loads never overlap: changes during a load trigger one more load after it.
 *
 * Level-triggered, as a reconcile is: a load never looks at which file changed, it rereads the
 * whole dir (parsed OpenAPI documents are cached by content, so that stays cheap).
 */

import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { canonicalJson } from '../compiler/canonical-json.ts';
import { compileSnapshot } from '../compiler/compile-snapshot.ts';
import { createOpenApiParser } from '../compiler/parse-openapi.ts';
import type { ObjectResult } from '../compiler/types.ts';
import type { StoredCredentials } from '../credentials/issue-credentials.ts';
import { idpLoginSecrets } from '../idp/login-secrets.ts';
import { generateSigningKey } from '../oauth/keys.ts';
import type { SigningKeySet } from '../oauth/signing-keys.ts';
import { objectKey } from '../resources/types.ts';
import { createResourceValidator } from '../resources/validate.ts';
import type { Snapshot } from '../snapshot/schema.ts';
import { type ConfigProblem, readConfigDir } from './config-dir.ts';
import { type ConsumerCredentials, consumerCredentials } from './consumer-credentials.ts';
import { nextExpiry, updateCredentials } from './credential-state.ts';
import { createGatherer } from './gather.ts';
import { type SelectedObject, selectObjects } from './select-objects.ts';
import {
  loadOrCreateSigningKeys,
  readStoredCredentials,
  writeStoredCredentials,
} from './state-dir.ts';
import { type DirectoryWatcher, watchDirectories } from './watch-dirs.ts';

/** Long enough to coalesce an editor's write-rename-chmod burst, short enough to reload within a second. */
const DEBOUNCE_MS = 150;
/** setTimeout's ceiling (~24.8 days); a later expiry is rechecked then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface StandaloneUpdate {
  snapshot: Snapshot;
  keys: SigningKeySet;
  /** One per object of this environment (the compiler's conditions). */
  results: ObjectResult[];
  /** Per Subscription in the snapshot, the plaintext credentials (for stdout, never a log). */
  consumers: ConsumerCredentials[];
  /** Subscription keys whose credentials were issued or rotated by this load. */
  changedCredentials: string[];
  /** By IdpAssociation id, its `login.clientSecretRef` value from the dir's Secrets (never logged). */
  idpLoginSecrets: Map<string, string>;
  /** True for the first snapshot. */
  initial: boolean;
}

export interface StandaloneSourceOptions {
  configDir: string;
  stateDir: string;
  environment: string;
  /** The CRDs whose schemas validate the files (`crds/` of this repository). */
  crdDir: string;
  logger: Logger;
  /** Called with every new snapshot (not when a reload changed nothing). Must not throw. */
  onSnapshot: (update: StandaloneUpdate) => void | Promise<void>;
  /** Default true; tests of a single load may turn it off. */
  watch?: boolean;
  now?: () => Date;
}

export interface StandaloneSource {
  /** Reload now (what the watcher does on a change); resolves when that load is done. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Loads the config dir once (rejecting only when that is impossible: the dir or the state dir
 * cannot be read) and calls `onSnapshot` before resolving; then watches for changes.
 */
export async function startStandaloneSource(
  options: StandaloneSourceOptions,
): Promise<StandaloneSource> {
  const { logger, environment } = options;
  const now = options.now ?? (() => new Date());
  const configDir = resolve(options.configDir);
  const stateDir = resolve(options.stateDir);
  const dir = await stat(configDir).catch(() => undefined);
  if (!dir?.isDirectory()) throw new Error(`${configDir} is not a directory`);
  const validator = await createResourceValidator(options.crdDir);
  const gatherer = createGatherer(createOpenApiParser());

  const signing = await loadOrCreateSigningKeys(stateDir, generateSigningKey);
  for (const alg of signing.generated) {
    logger.info(
      { event: 'signing_key_generated', alg, stateDir },
      `generated an ${alg} signing key`,
    );
  }
  const keys = signing.keys;
  let stored: Map<string, StoredCredentials> = await readStoredCredentials(stateDir);

  let lastGood = new Map<string, SelectedObject>();
  /** By identity: spec hash, generation and first-seen time (standalone plays the API server). */
  const revisions = new Map<string, { hash: string; generation: number; created: string }>();
  let lastVersion: string | undefined;
  // A login Secret edited alone changes no snapshot: its digest tells that it changed.
  let lastLoginSecrets: string | undefined;
  let lastProblems = '';

  let watcher: DirectoryWatcher | undefined;

  const loadOnce = async (): Promise<void> => {
    const at = now();
    // Directories are watched before they are read: a change after this triggers a load.
    await watcher?.sync();
    const read = await readConfigDir(configDir, { validator, exclude: [stateDir] });
    const selection = selectObjects(read, lastGood);
    stampMetadata(selection.objects, revisions, at);
    const gathered = await gatherer.gather(selection);
    lastGood = gathered.objects;

    const present = new Set(
      read.files.flatMap((file) =>
        file.entries.filter((e) => e.kind === 'Subscription').map((e) => objectKey(e)),
      ),
    );
    const credentials = updateCredentials(gathered.subscriptions, stored, {
      now: at,
      random: randomBytes,
      keep: present,
      mayForget: read.files.every((file) => file.readable),
    });
    if (credentials.dirty) await writeStoredCredentials(stateDir, credentials.stored);
    stored = credentials.stored;
    for (const [id, changes] of credentials.changes) {
      // What changed, never a value.
      const summary = changes.map((c) => `${c.credential} ${c.action}`).join(', ');
      logger.info(
        { event: 'credentials_changed', subscription: id, changes },
        `credentials of Subscription ${id}: ${summary}`,
      );
    }
    for (const id of credentials.forgotten) {
      logger.info(
        { event: 'credentials_forgotten', subscription: id },
        `generated credentials of Subscription ${id} deleted (it is gone, or uses an existingSecret)`,
      );
    }

    const { snapshot, results } = compileSnapshot({
      environment,
      apis: gathered.apis,
      products: gathered.products,
      subscriptions: gathered.subscriptions,
      idpAssociations: gathered.idpAssociations,
      secrets: gathered.secrets,
      openapi: gathered.openapi,
      issued: credentials.issued,
      now: at,
    });

    // Problems are logged when they change, not on every no-op reload.
    const problems = [...read.problems, ...selection.problems, ...gathered.problems];
    const rejected = results.filter((r) =>
      r.conditions.some((c) => c.type === 'Accepted' && c.status === 'False'),
    );
    const summary = canonicalJson({ problems, rejected: rejected.map((r) => r.conditions) });
    if (summary !== lastProblems || snapshot.version !== lastVersion) {
      lastProblems = summary;
      logProblems(logger, problems);
      for (const result of rejected) {
        const accepted = result.conditions.find((c) => c.type === 'Accepted')!;
        logger.warn(
          {
            event: 'object_not_accepted',
            object: `${result.kind} ${result.namespace}/${result.name}`,
            reason: accepted.reason,
          },
          `${result.kind} ${result.namespace}/${result.name} is not accepted (${accepted.reason}): ${accepted.message}`,
        );
      }
    }

    scheduleExpiry(nextExpiry(stored), at);
    const loginSecrets = idpLoginSecrets(snapshot.idps, gathered.secrets);
    const loginDigest = createHash('sha256')
      .update(canonicalJson([...loginSecrets].sort(([a], [b]) => (a < b ? -1 : 1))))
      .digest('hex');
    if (snapshot.version === lastVersion && loginDigest === lastLoginSecrets) return;
    lastLoginSecrets = loginDigest;
    const initial = lastVersion === undefined;
    lastVersion = snapshot.version;
    logger.info(
      {
        event: 'snapshot_compiled',
        version: snapshot.version,
        apis: snapshot.apis.length,
        credentials: snapshot.credentials.length,
        problems: problems.length,
      },
      initial ? 'configuration loaded' : 'configuration reloaded',
    );
    await options.onSnapshot({
      snapshot,
      keys,
      results,
      consumers: consumerCredentials(
        snapshot,
        gathered.subscriptions,
        credentials.issued,
        gathered.secrets,
      ),
      changedCredentials: [...credentials.changes].flatMap(([id, changes]) =>
        changes.some((c) => c.action === 'issued' || c.action === 'rotated') ? [id] : [],
      ),
      idpLoginSecrets: loginSecrets,
      initial,
    });
  };

  // One load at a time; requests during a load coalesce into one more load after it.
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const reload = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await loadOnce();
        } catch (error) {
          // A bug or an unreadable state dir: keep serving the snapshot we have.
          logger.error(
            { event: 'reload_failed', err: error },
            'reload failed; still serving the previous configuration',
          );
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  let expiryTimer: NodeJS.Timeout | undefined;
  function scheduleExpiry(at: Date | undefined, from: Date): void {
    if (expiryTimer) clearTimeout(expiryTimer);
    expiryTimer = undefined;
    if (at === undefined || closed) return;
    const delay = Math.min(Math.max(at.getTime() - from.getTime() + 50, 0), MAX_TIMER_MS);
    expiryTimer = setTimeout(() => void reload(), delay);
    expiryTimer.unref();
  }

  // Watching starts before the first read (loadOnce syncs the watcher, then reads): the gateway
  // is ready as soon as the first snapshot is served, and an edit made from then on is seen.
  let debounce: NodeJS.Timeout | undefined;
  if (options.watch !== false) {
    watcher = watchDirectories(configDir, {
      skip: (path) => isInside(stateDir, path),
      onChange: (dir, name) => {
        if (name && isIgnored(stateDir, join(dir, name), name)) return;
        if (debounce) clearTimeout(debounce);
        debounce = setTimeout(() => void reload(), DEBOUNCE_MS);
      },
      onError: (error) => {
        logger.error(
          { event: 'watch_failed', err: error },
          `cannot watch ${configDir}: changes are no longer picked up`,
        );
      },
    });
  }

  // The first load rejects instead of logging, and is serialised with the watcher's reloads.
  let failed: { error: unknown } | undefined;
  running = loadOnce().catch((error: unknown) => {
    failed = { error };
  });
  await running;
  running = undefined;
  if (failed) {
    closed = true;
    watcher?.close();
    if (debounce) clearTimeout(debounce);
    if (expiryTimer) clearTimeout(expiryTimer);
    throw failed.error;
  }
  if (again) void reload();

  return {
    reload,
    async close() {
      closed = true;
      watcher?.close();
      if (debounce) clearTimeout(debounce);
      if (expiryTimer) clearTimeout(expiryTimer);
      await running;
    },
  };
}

/**
 * Events the loader would not read anyway: dot-files (editor swap files; a save by rename is
 * also reported under the file's own name), `node_modules`, the state dir. Except `..data`: the
 * symlink Kubernetes' atomic writer swaps when a mounted ConfigMap or Secret changes (the files
 * are symlinks through it).
 */
function isIgnored(stateDir: string, path: string, name: string): boolean {
  if (name === '..data') return false;
  if (name.startsWith('.') || name === 'node_modules') return true;
  return isInside(stateDir, path);
}

function isInside(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

/**
 * Standalone plays the API server's part for `generation` (raised when the spec changes) and
 * `creationTimestamp` (first seen by this process: the oldest Api keeps a contested basePath).
 * Values a file sets itself are kept.
 */
function stampMetadata(
  objects: Map<string, SelectedObject>,
  revisions: Map<string, { hash: string; generation: number; created: string }>,
  at: Date,
): void {
  for (const [identity, selected] of objects) {
    const object = selected.object;
    if (!('spec' in object)) continue;
    const hash = canonicalJson(object.spec);
    const previous = revisions.get(identity);
    const revision = !previous
      ? { hash, generation: 1, created: at.toISOString() }
      : previous.hash === hash
        ? previous
        : { ...previous, hash, generation: previous.generation + 1 };
    revisions.set(identity, revision);
    const metadata = { ...object.metadata };
    metadata.generation ??= revision.generation;
    metadata.creationTimestamp ??= revision.created;
    objects.set(identity, { ...selected, object: { ...object, metadata } as typeof object });
  }
  for (const identity of revisions.keys()) if (!objects.has(identity)) revisions.delete(identity);
}

function logProblems(logger: Logger, problems: readonly ConfigProblem[]): void {
  for (const problem of problems) {
    const line = { event: 'config_problem', subject: problem.subject };
    const message = `${problem.subject}: ${problem.message}`;
    if (problem.severity === 'error') logger.error(line, message);
    else logger.warn(line, message);
  }
}
