#!/usr/bin/env node
// The `gossip` command: runs the compiled CLI in dist/. In a checkout, `npm install`, `npm test`
// and `npm start` build dist/ first (scripts/build.mjs); after editing src/, `npm run build`.
//
// This file is CommonJS (bin/package.json says so), and so are the bundles it runs: a process
// that starts with no ES module never sets up Node's ES module loader, which was nearly half of
// what a `gossip members` spent above a bare `node -e 0` (`npm run bench -- cli-start`).
// What scripts/build.mjs made, and what runs here:
//   - dist/cli/main.bundle.cjs, the client commands in one file (members, event, kv, version,
//     ...: all but LOADED_APART of src/cli/main.ts);
//   - dist/cli/agent.bundle.cjs, the whole CLI in one file, for those (agent, doctor, sim);
//   - without the bundles (a build without the bundler, a dev dependency): dist/cli/main.js, an
//     ES module that loads only the modules the command needs.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const dir = join(__dirname, '..', 'dist', 'cli');
const argv = process.argv.slice(2);
const done = (code) => {
  process.exitCode = code;
};

/** The bundle that runs this command, if the build made it. */
function bundle() {
  const client = join(dir, 'main.bundle.cjs');
  if (argv[0] !== 'agent' && existsSync(client)) {
    const cli = require(client);
    if (!cli.LOADED_APART.includes(argv[0])) return cli;
  }
  const whole = join(dir, 'agent.bundle.cjs');
  return existsSync(whole) ? require(whole) : undefined;
}

const cli = bundle();
if (cli) cli.main(argv).then(done);
else {
  const entry = pathToFileURL(join(dir, 'main.js')).href;
  import(entry).then(
    ({ main }) => main(argv).then(done),
    (e) => {
      // Only a missing entry means "not built"; a missing module further in is a real error.
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || e.url !== entry) throw e;
      process.stderr.write(
        'gossip: not built (no dist/cli/main.js): run `npm run build` in the package first\n',
      );
      process.exitCode = 1;
    },
  );
}
