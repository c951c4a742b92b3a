// `npm run e2e:kind` (test/kind/run.sh) where it cannot run: without Docker, its daemon or kind
// it stops at once, says what is missing and where the same scenarios run instead. The PATH
// holds only fakes, so nothing here can reach a real Docker or create a cluster.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, 'run.sh');
const dirs: string[] = [];

/** A PATH directory with `dirname` and the given fake commands (shell snippets). */
async function fakePath(commands: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apiway-kind-path-'));
  dirs.push(dir);
  await symlink('/usr/bin/dirname', join(dir, 'dirname'));
  for (const [name, body] of Object.entries(commands)) {
    await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

async function runScript(path: string): Promise<{ code: number; stderr: string }> {
  try {
    await run('/bin/bash', [SCRIPT], { env: { PATH: path, HOME: tmpdir() } });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('npm run e2e:kind without what it needs', () => {
  it('says that Docker is missing, and where the scenarios run instead', async () => {
    const { code, stderr } = await runScript(await fakePath({}));
    expect(code).toBe(1);
    expect(stderr).toContain('docker is not installed');
    expect(stderr).toContain('test/chart/chart.int.test.ts');
  });

  it('says that the Docker daemon is not reachable', async () => {
    const { code, stderr } = await runScript(await fakePath({ docker: 'exit 1' }));
    expect(code).toBe(1);
    expect(stderr).toContain('the Docker daemon is not reachable');
  });

  it('says that kind is missing', async () => {
    const { code, stderr } = await runScript(await fakePath({ docker: 'exit 0' }));
    expect(code).toBe(1);
    expect(stderr).toContain('kind is not installed');
  });
});
