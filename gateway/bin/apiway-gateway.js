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
// No top-level await: an old Node must get as far as the check above instead of a syntax error.
import('../src/main.ts').catch((error) => {
  process.stderr.write(`apiway-gateway: ${error?.stack ?? error}\n`);
  process.exit(1);
});
