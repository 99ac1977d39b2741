// `node --import ./test/support/record-fs.mjs ...`: from here on, every call that a JavaScript
// module makes to a file-reading function of `node:fs` (sync, callback or promise form) is
// appended to `globalThis.__fsCalls` as "name path (caller)". Calls from Node's own module
// loader (whose stack holds only `node:` frames) are not recorded: only what the loaded code
// itself does, such as reading a package.json at import time.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const calls = [];
globalThis.__fsCalls = calls;
const SELF = import.meta.url;

/** The first stack frame in a file: URL other than this one, or undefined (Node internals). */
function userCaller() {
  const frames = new Error().stack.split('\n').slice(1);
  return frames.find((f) => f.includes('file://') && !f.includes(SELF))?.trim();
}

const NAMES = [
  'readFileSync',
  'readFile',
  'existsSync',
  'statSync',
  'lstatSync',
  'stat',
  'readdirSync',
  'readdir',
  'openSync',
  'open',
  'accessSync',
  'access',
];
for (const name of NAMES) {
  const real = fs[name];
  fs[name] = function recorded(...args) {
    const caller = userCaller();
    if (caller) calls.push(`${name} ${String(args[0])} (${caller})`);
    return real.apply(this, args);
  };
}
for (const name of ['readFile', 'stat', 'readdir', 'open', 'access']) {
  const real = fs.promises[name];
  fs.promises[name] = function recorded(...args) {
    const caller = userCaller();
    if (caller) calls.push(`promises.${name} ${String(args[0])} (${caller})`);
    return real.apply(this, args);
  };
}
// Named imports (`import { readFileSync } from 'node:fs'`) see the wrapped functions too.
syncBuiltinESMExports();
