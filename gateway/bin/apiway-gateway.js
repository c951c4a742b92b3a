#!/usr/bin/env node
// The `apiway-gateway` command. Plain JavaScript so that any Node can run it far enough to say
// which Node it needs: the gateway is TypeScript that Node 24 runs directly (type stripping).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `apiway-gateway needs Node.js 24 or later (this is ${process.version}).\n` +
      'Install it (https://nodejs.org), or run it from the repository with `npx node gateway/src/main.ts`.\n',
  );
  process.exit(1);
}
// The young generation at most 2 × 16 MiB, as the container image runs the gateway (Dockerfile
// ENTRYPOINT): Node 24 lets it grow to 2 × 64 MiB after a large snapshot is parsed, and keeps it.
// V8 takes the flag on the command line only, so the process replaces itself (same pid) with one
// that has it, unless it was given (then it is the user's); without `process.execve` (Windows)
// it runs without.
const SEMI_SPACE = '--max-semi-space-size';
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (!given.some((arg) => arg.startsWith(SEMI_SPACE)) && typeof process.execve === 'function') {
  process.execve(process.execPath, [
    process.execPath,
    `${SEMI_SPACE}=16`,
    ...process.execArgv,
    ...process.argv.slice(1),
  ]);
}
// No top-level await: an old Node must get as far as the check above instead of a syntax error.
import('../src/main.ts').catch((error) => {
  process.stderr.write(`apiway-gateway: ${error?.stack ?? error}\n`);
  process.exit(1);
});
