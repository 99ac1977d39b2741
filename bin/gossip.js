#!/usr/bin/env node
// The `gossip` command: runs the compiled CLI in dist/. In a checkout, `npm install`, `npm test`
// and `npm start` build dist/ first (scripts/build.mjs); after editing src/, `npm run build`.
//
// This file is CommonJS (bin/package.json says so), and so is the bundle it runs for most
// commands: a process that starts with no ES module never sets up Node's ES module loader,
// which was about half of what a `gossip members` spent above a bare `node -e 0`
// (`npm run bench -- cli-start`). What scripts/build.mjs made, and what runs here:
//   - `gossip agent`: dist/cli/main.bundle.js, the whole CLI in one ES module;
//   - the commands in dist/cli/main.bundle.cjs, the CLI's client commands in one CommonJS file
//     (members, event, kv, version, ...: everything but LOADED_APART of src/cli/main.ts);
//   - the others (`sim`, `doctor`), and every command when there is no bundle (a build without
//     the bundler, a dev dependency): dist/cli/main.js, which loads only the modules they need.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const cli = join(__dirname, '..', 'dist', 'cli');
const argv = process.argv.slice(2);
const done = (code) => {
  process.exitCode = code;
};

/** Runs dist/cli/FILE, an ES module exporting main(). */
function runModule(file) {
  const url = pathToFileURL(join(cli, file)).href;
  import(url).then(
    ({ main }) => main(argv).then(done),
    (e) => {
      // Only a missing entry means "not built"; a missing module further in is a real error.
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || e.url !== url) throw e;
      process.stderr.write(
        'gossip: not built (no dist/cli/main.js): run `npm run build` in the package first\n',
      );
      process.exitCode = 1;
    },
  );
}

const clientBundle = join(cli, 'main.bundle.cjs');
if (argv[0] === 'agent' && existsSync(join(cli, 'main.bundle.js'))) runModule('main.bundle.js');
else if (argv[0] !== 'agent' && existsSync(clientBundle)) {
  const client = require(clientBundle);
  if (client.LOADED_APART.includes(argv[0])) runModule('main.js');
  else client.main(argv).then(done);
} else runModule('main.js');
