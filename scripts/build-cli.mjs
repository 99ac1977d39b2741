#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
// Bundles the CLI and agent into dist/gossip.mjs with esbuild (a dependency of tsx, so always
// installed). bin/gossip.js runs the bundle when it is newer than every source file, and the
// TypeScript sources through tsx otherwise, so an edit is never shadowed by a stale build.
// The bundle starts faster and uses about a third less memory than compiling on the fly.
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}src/cli/main.ts`],
  outfile: `${root}dist/gossip.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
console.log('gossip: built dist/gossip.mjs');
