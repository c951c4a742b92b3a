// The container image cannot be built here (no Docker daemon), so this checks what can be
// checked without one: the files the Dockerfile copies exist and pass .dockerignore, and the
// programs run from a copy of exactly that layout through the image's entry point (the
// Dockerfile's heredoc), with nothing else of the repository around them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

interface Dockerfile {
  /** Sources of `COPY` from the build context (not `--from=` stages, not heredocs). */
  contextSources: string[];
  /** The heredoc written to /app/apiway.js: the entry point. */
  entryPoint: string;
  entrypointLine: string;
}

async function readDockerfile(): Promise<Dockerfile> {
  const text = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const contextSources = [...text.matchAll(/^COPY (?!--from|<<)(.+)$/gm)].flatMap((match) => {
    const words = (match[1] as string).trim().split(/\s+/);
    return words.slice(0, -1); // the last word is the destination
  });
  const heredoc = /^COPY <<'EOF' \/app\/apiway\.js\n([\s\S]*?)\nEOF$/m.exec(text);
  const entrypointLine = /^ENTRYPOINT (.+)$/m.exec(text)?.[1] ?? '';
  return { contextSources, entryPoint: heredoc?.[1] ?? '', entrypointLine };
}

/** .dockerignore as written here: `*`, then `!path` exceptions. */
async function contextAllows(path: string): Promise<boolean> {
  const lines = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  expect(lines[0]).toBe('*');
  return lines
    .slice(1)
    .some(
      (line) =>
        line.startsWith('!') && (path === line.slice(1) || path.startsWith(`${line.slice(1)}/`)),
    );
}

function runNode(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exit, output: () => ({ stdout, stderr }) };
}

describe('the container image layout (Dockerfile, .dockerignore)', () => {
  let app: string;
  let dockerfile: Dockerfile;

  beforeAll(async () => {
    dockerfile = await readDockerfile();
    // /app as the Dockerfile assembles it; node_modules linked (the image has the production
    // dependencies only, a subset of these).
    app = await mkdtemp(join(tmpdir(), 'apiway-image-'));
    for (const source of dockerfile.contextSources) {
      if (source === 'package-lock.json') continue; // used by `npm ci` in the first stage only
      await cp(join(ROOT, source), join(app, source), { recursive: true });
    }
    await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    await writeFile(join(app, 'apiway.js'), dockerfile.entryPoint);
  });

  afterAll(async () => {
    if (app) await rm(app, { recursive: true, force: true });
  });

  it('copies only files that exist and that .dockerignore lets into the context', async () => {
    expect(dockerfile.contextSources).toEqual(
      expect.arrayContaining(['package.json', 'crds', 'gateway/src', 'operator/src']),
    );
    for (const source of [...dockerfile.contextSources, 'package-lock.json']) {
      expect(await contextAllows(source), `${source} is excluded by .dockerignore`).toBe(true);
    }
    expect(dockerfile.entrypointLine).toBe(
      '["node", "--max-semi-space-size=16", "/app/apiway.js"]',
    );
  });

  it('answers --help, and refuses an unknown program with exit code 2', async () => {
    const help = runNode([join(app, 'apiway.js')]);
    expect(await help.exit).toBe(0);
    expect(help.output().stdout).toContain('apiway gateway');
    const unknown = runNode([join(app, 'apiway.js'), 'proxy']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.output().stderr).toContain('unknown program "proxy"');
  });

  it('runs the operator: its whole module graph loads, and it checks its command line', async () => {
    const operator = runNode([join(app, 'apiway.js'), 'operator', '--no-such-flag']);
    expect(await operator.exit).toBe(2);
    expect(operator.output().stderr).toContain('usage: apiway-operator');
  });

  it('runs the gateway: standalone on the examples, then stops gracefully on SIGTERM', async () => {
    const gateway = runNode([
      join(app, 'apiway.js'),
      'gateway',
      '--config-dir',
      join(ROOT, 'examples'),
      '--state-dir',
      join(app, 'state'),
      '--port',
      '0',
      '--admin-port',
      '0',
      '--no-print-credentials',
    ]);
    const deadline = Date.now() + 30_000;
    while (!gateway.output().stdout.includes('"event":"listening"')) {
      if (gateway.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the gateway did not start:\n${gateway.output().stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    gateway.child.kill('SIGTERM');
    expect(await gateway.exit, gateway.output().stderr).toBe(0);
  });
});
