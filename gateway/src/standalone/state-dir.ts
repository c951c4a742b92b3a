/**
 * The standalone gateway's state directory: what it generated and must keep across restarts,
 * so tokens and credentials stay valid when it restarts. Two JSON files, each readable by the
 * owner only (mode 0600, directory 0700), written atomically (temp file + rename) so a crash
 * never leaves half a file:
 *
 * - `signing-keys.json`: the environment's signing keys (one active ES256 and one active RS256
 *   key, generated on first start), private parts included;
 * - `credentials.json`: what was issued per Subscription, keyed "namespace/name", plaintext
 *   (the Kubernetes equivalent is the Subscription's Secret).
 *
 * A file that exists but cannot be read is an error, never a reason to generate new values:
 * that would silently invalidate every token and credential handed out.
 */

import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredCredentials } from '../credentials/issue-credentials.ts';
import type { SigningAlgorithm, SigningKey, SigningKeySet } from '../oauth/signing-keys.ts';

export const SIGNING_KEYS_FILE = 'signing-keys.json';
export const CREDENTIALS_FILE = 'credentials.json';

const ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'RS256'];

export type GenerateSigningKey = (
  alg: SigningAlgorithm,
  state: SigningKey['state'],
) => Promise<SigningKey>;

/**
 * The signing keys in the state dir, with an active key generated (and persisted) for every
 * algorithm that has none: all of them on first start, only the missing one after.
 */
export async function loadOrCreateSigningKeys(
  stateDir: string,
  generate: GenerateSigningKey,
): Promise<{ keys: SigningKeySet; generated: SigningAlgorithm[] }> {
  const file = join(stateDir, SIGNING_KEYS_FILE);
  const stored = await readJson(file);
  const keys: SigningKeySet = stored === undefined ? { keys: [] } : parseSigningKeys(stored, file);
  const generated: SigningAlgorithm[] = [];
  for (const alg of ALGORITHMS) {
    if (keys.keys.some((key) => key.alg === alg && key.state === 'active')) continue;
    keys.keys.push(await generate(alg, 'active'));
    generated.push(alg);
  }
  if (generated.length > 0) await writePrivateJson(stateDir, SIGNING_KEYS_FILE, keys);
  return { keys, generated };
}

/** What was issued per Subscription ("namespace/name"); empty on first start. */
export async function readStoredCredentials(
  stateDir: string,
): Promise<Map<string, StoredCredentials>> {
  const file = join(stateDir, CREDENTIALS_FILE);
  const stored = await readJson(file);
  if (stored === undefined) return new Map();
  if (!isRecord(stored) || !isRecord(stored.subscriptions)) {
    throw new Error(`${file}: expected {"subscriptions": {...}}; fix or remove the file.`);
  }
  const result = new Map<string, StoredCredentials>();
  for (const [key, value] of Object.entries(stored.subscriptions)) {
    if (!isRecord(value) || typeof value.clientId !== 'string') {
      throw new Error(`${file}: the entry of ${key} has no clientId; fix or remove the file.`);
    }
    result.set(key, value as unknown as StoredCredentials);
  }
  return result;
}

export async function writeStoredCredentials(
  stateDir: string,
  credentials: ReadonlyMap<string, StoredCredentials>,
): Promise<void> {
  const subscriptions = Object.fromEntries(
    [...credentials].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  await writePrivateJson(stateDir, CREDENTIALS_FILE, { subscriptions });
}

function parseSigningKeys(stored: unknown, file: string): SigningKeySet {
  if (!isRecord(stored) || !Array.isArray(stored.keys)) {
    throw new Error(`${file}: expected {"keys": [...]}; fix or remove the file.`);
  }
  for (const key of stored.keys) {
    if (
      !isRecord(key) ||
      typeof key.kid !== 'string' ||
      !ALGORITHMS.includes(key.alg as SigningAlgorithm) ||
      !['next', 'active', 'retired'].includes(key.state as string) ||
      !isRecord(key.privateJwk)
    ) {
      throw new Error(
        `${file}: a key lacks kid, alg, state or privateJwk; fix or remove the file.`,
      );
    }
  }
  return stored as unknown as SigningKeySet;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message may quote file content (key material): keep only the file name.
    throw new Error(`${file}: not valid JSON; fix or remove the file.`);
  }
}

async function writePrivateJson(dir: string, name: string, value: unknown): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, name);
  const temp = join(dir, `.${name}.${process.pid}.tmp`);
  // Created 0600 from the start: the plaintext is never readable by others, not even briefly.
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temp, 0o600);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
