#!/usr/bin/env node
// `npm install` / `npm ci` run this (the `prepare` script): build the agent's web dashboard into
// web/dist, so nobody has to remember `npm run build:web`.
//
// A production install (`npm ci --omit=dev`) has no Vite: then this says so and exits 0 rather
// than failing the install. The agent serves no dashboard until it is built; build before
// pruning (`npm ci && npm prune --omit=dev`) to ship one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('../web/', import.meta.url));
if (!existsSync(`${web}index.html`)) process.exit(0); // an install without the dashboard's sources

let vite;
try {
  vite = await import('vite');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  console.warn(
    'gossip: not building the web dashboard: Vite is not installed (a --omit=dev install?).\n' +
      '        The agent runs without it; install dev dependencies and run `npm run build:web` to add it.',
  );
  process.exit(0);
}
await vite.build({ root: web, configFile: `${web}vite.config.ts`, logLevel: 'warn' });
console.log('gossip: built the web dashboard into web/dist');
