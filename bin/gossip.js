#!/usr/bin/env node
// The `gossip` command: runs the compiled CLI in dist/. In a checkout, `npm install`, `npm test`
// and `npm start` build dist/ first (scripts/build.mjs); after editing src/, `npm run build`.
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli/main.js')) throw e;
  process.stderr.write('gossip: not built (no dist/cli/main.js): run `npm run build` in the package first\n');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
