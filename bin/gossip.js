#!/usr/bin/env node
// The `gossip` command: runs the compiled CLI in dist/. In a checkout, `npm install`, `npm test`
// and `npm start` build dist/ first (scripts/build.mjs); after editing src/, `npm run build`.
// `gossip agent` runs the CLI bundled into one file when the build made it (scripts/build.mjs:
// it starts sooner and holds less); every other command loads only the modules it needs.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/main.bundle.js', import.meta.url);
const entry =
  process.argv[2] === 'agent' && existsSync(bundle)
    ? bundle
    : new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (e) {
  // Only a missing entry means "not built"; a missing module further in is a real error.
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || e.url !== entry.href) throw e;
  process.stderr.write('gossip: not built (no dist/cli/main.js): run `npm run build` in the package first\n');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
