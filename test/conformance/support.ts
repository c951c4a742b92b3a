/**
 * What a black-box conformance suite needs to drive `apiway-gateway --config-dir`: the command
 * started from its bin with the flags SPEC.md names, fixture directories copied from
 * `fixtures/<name>/` with `{{PLACEHOLDERS}}` (backend URLs) filled in, and small OAuth helpers.
 * Nothing here knows how the gateway is built: readiness is `/readyz` answering 200.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/http-server.ts';

const BIN = fileURLToPath(new URL('../../gateway/bin/apiway-gateway.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface ConfigDir {
  dir: string;
  /** A new empty directory next to the config dir (a state dir, a cwd), removed with it. */
  scratch(): Promise<string>;
  /** Writes (or replaces) a file of the config dir, placeholders filled in. */
  write(name: string, content: string): Promise<void>;
  read(name: string): Promise<string>;
  remove(name: string): Promise<void>;
  /** Removes the directory and every scratch directory. */
  dispose(): Promise<void>;
}

/** A fresh temporary copy of `fixtures/<name>/`, every `{{KEY}}` replaced by `vars[KEY]`. */
export async function configDirFrom(
  name: string | undefined,
  vars: Record<string, string> = {},
): Promise<ConfigDir> {
  const root = await mkdtemp(join(tmpdir(), 'apiway-conformance-'));
  const dir = join(root, 'config');
  await mkdir(dir);
  const fill = (text: string) =>
    text.replace(/\{\{([A-Z0-9_]+)\}\}/g, (whole, key: string) => vars[key] ?? whole);
  if (name !== undefined) {
    for (const file of await readdir(join(FIXTURES, name))) {
      await writeFile(join(dir, file), fill(await readFile(join(FIXTURES, name, file), 'utf8')));
    }
  }
  return {
    dir,
    scratch: () => mkdtemp(join(root, 'scratch-')),
    write: (file, content) => writeFile(join(dir, file), fill(content)),
    read: (file) => readFile(join(dir, file), 'utf8'),
    remove: (file) => rm(join(dir, file), { force: true }),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

/** Copies a fixture file's text (for tests that write variants of it). */
export function fixtureText(name: string, file: string): Promise<string> {
  return readFile(join(FIXTURES, name, file), 'utf8');
}

export { rm };

export interface Gateway {
  /** `http://127.0.0.1:<port>` */
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  child: ChildProcess;
  output(): string;
  /** Resolves once the output satisfies `test`. */
  waitForOutput(test: (output: string) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  configDir: string;
  /** Extra flags, e.g. `['--public-url', 'https://api.example.test', '--environment', 'alpha']`. */
  args?: string[];
  /** Without it the gateway picks its default state directory (run with `cwd` and HOME set). */
  stateDir?: string;
  cwd?: string;
  env?: Record<string, string>;
  port?: number;
  adminPort?: number;
  /** Default 45 s: a first start may generate RSA keys on a busy machine. */
  readyTimeoutMs?: number;
  /** Wait for `/readyz` 200 (default) or only for the process to listen. */
  waitReady?: boolean;
}

export async function startGateway(options: StartOptions): Promise<Gateway> {
  const port = options.port ?? (await freePort());
  const adminPort = options.adminPort ?? (await freePort());
  const args = [
    BIN,
    '--config-dir',
    options.configDir,
    '--port',
    String(port),
    '--admin-port',
    String(adminPort),
    ...(options.stateDir === undefined ? [] : ['--state-dir', options.stateDir]),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = once(child, 'exit');
  const running = () => child.exitCode === null && child.signalCode === null;
  const poll = async (done: () => Promise<boolean> | boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (!running()) throw new Error(`the gateway exited while waiting for ${what}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output}`);
      await sleep(25);
    }
  };
  const gateway: Gateway = {
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    port,
    adminPort,
    child,
    output: () => output,
    waitForOutput: (test, timeoutMs = 15_000) => poll(() => test(output), timeoutMs, 'output'),
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
  try {
    await poll(
      async () => {
        try {
          const response = await fetch(`${gateway.adminUrl}/readyz`);
          await response.arrayBuffer();
          return options.waitReady === false ? true : response.status === 200;
        } catch {
          return false;
        }
      },
      options.readyTimeoutMs ?? 45_000,
      '/readyz',
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return gateway;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true (or throws the last failure after `timeoutMs`). */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5_000,
  what = 'a condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface TokenCall {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export function basic(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/** POSTs a raw form body to `{gateway}{basePath}/oauth2/v2/token`. */
export async function tokenRequest(
  gatewayUrl: string,
  basePath: string,
  form: string | Record<string, string>,
  init: { headers?: Record<string, string>; query?: string; method?: string } = {},
): Promise<TokenCall> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(
    `${gatewayUrl}${basePath}/oauth2/v2/token${init.query ? `?${init.query}` : ''}`,
    {
      method: init.method ?? 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.headers },
      ...(init.method === 'GET' || init.method === 'HEAD' ? {} : { body }),
    },
  );
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A client-credentials token (HTTP Basic), failing the test when none is minted. */
export async function mint(
  gatewayUrl: string,
  basePath: string,
  clientId: string,
  clientSecret: string,
  scope?: string,
): Promise<string> {
  const result = await tokenRequest(
    gatewayUrl,
    basePath,
    { grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) },
    { headers: { authorization: basic(clientId, clientSecret) } },
  );
  if (result.status !== 200 || typeof result.body.access_token !== 'string') {
    throw new Error(
      `no token from ${basePath} for ${clientId}: ${result.status} ${JSON.stringify(result.body)}`,
    );
  }
  return result.body.access_token;
}

export interface PrintedCredentials {
  client_id?: string;
  client_secret?: string;
  api_key?: string;
  api_key_secondary?: string;
}

/**
 * The credentials the gateway printed at start for `namespace/name` ("printed at start", SPEC.md
 * "Standalone"): the `key  value` lines under the Subscription's heading.
 */
export function printedCredentials(output: string, subscription: string): PrintedCredentials {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.trim().split(/\s+/)[0] === subscription);
  if (start < 0) return {};
  const found: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    const match = /^\s+(client_id|client_secret|api_key|api_key_secondary|token_url)\s+(\S+)/.exec(
      line,
    );
    if (match) {
      // token_url depends on the port; the credentials themselves are what must be kept.
      if (match[1] !== 'token_url') found[match[1]!] ??= match[2]!;
      continue;
    }
    if (/^\s{6,}\S/.test(line)) continue; // a continuation (another token_url)
    break;
  }
  return found;
}
