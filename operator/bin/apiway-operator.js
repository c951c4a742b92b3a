#!/usr/bin/env node
// The `apiway-operator` command: Node 24 runs the TypeScript sources directly (type stripping).
import '../src/main.ts';
