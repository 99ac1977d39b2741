#!/usr/bin/env node
// The `gossip` command. It runs the prebuilt bundle dist/gossip.mjs (made by `npm install`,
// see scripts/build-cli.mjs) when that is newer than every file under src/, and otherwise the
// TypeScript sources through tsx — so `npx gossip ...` works straight after `npm install`, and
// an edited source is never shadowed by a stale build.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(`${root}dist/gossip.mjs`).mtimeMs >= newestSource(`${root}src`);
  } catch {
    return false;
  }
}

let main;
if (process.env.GOSSIP_FROM_SOURCE !== '1' && bundleIsFresh()) {
  ({ main } = await import('../dist/gossip.mjs'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
