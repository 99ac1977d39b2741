#!/usr/bin/env node
// `npm run build`: compiles what the package ships, and only what changed since the last build.
//   1. the library, CLI and agent: `tsc -p tsconfig.build.json` (src/*.ts → dist/*.js + .d.ts),
//      and the CLI bundled for a quick start (esbuild: dist/cli/agent.bundle.cjs for `gossip agent`,
//      `doctor` and `sim`, dist/cli/main.bundle.cjs for the other commands);
//   2. the web dashboard: Vite (web/ → web/dist), when its sources or the API types changed.
// `npm install` (prepare), `npm pack` (prepare), `npm test` and `npm start` run it first, so
// bin/gossip.js, which runs dist/ only, is never older than the sources it was built from.
//
// Each step is skipped when a stamp (path, size and mtime of every input, in dist/.*-stamp)
// matches the inputs, so an up-to-date build costs a few milliseconds. A rebuild also removes
// outputs whose source is gone (tsc never deletes anything).
//
// Before compiling, the version in src/version.ts is set to package.json's (the code reads no
// file at import time, so the build carries the version); `npm version` runs this too.
//
// A production install (`npm install --omit=dev` from a git URL, say) may lack TypeScript or
// Vite: then the step says so. Without TypeScript that is an error (nothing could run); without
// Vite the dashboard is left out with a warning, as the agent runs without it.
//
// Usage: node scripts/build.mjs [--force] [--check]
//   --check  build nothing; exit 1 (saying what to run) when dist/ or web/dist is stale.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const LIB_STAMP = join(DIST, '.lib-stamp');
const WEB_STAMP = join(DIST, '.web-stamp');
const VERSION_FILE = join(ROOT, 'src', 'version.ts');
const VERSION_LINE = /^export const PACKAGE_VERSION: string = '([^']*)';$/m;

function walk(dir, out, keep) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'dist') continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out, keep);
    else if (keep(entry.name)) out.push(p);
  }
  return out;
}

/** A digest of the inputs' paths, sizes and mtimes: equal digests mean nothing changed. */
function stampOf(files) {
  const h = createHash('sha256');
  for (const f of files.sort()) {
    const st = statSync(f);
    h.update(`${relative(ROOT, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return h.digest('hex');
}

function readStamp(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const isTs = (name) => name.endsWith('.ts');
const libInputs = () => [
  ...walk(join(ROOT, 'src'), [], isTs),
  join(ROOT, 'tsconfig.json'),
  join(ROOT, 'tsconfig.build.json'),
  // The CLI's bundles are made only when esbuild is installed: installing it rebuilds.
  ...[join(ROOT, 'node_modules', 'esbuild', 'package.json')].filter((f) => existsSync(f)),
];
const webInputs = () => [
  ...walk(join(ROOT, 'web', 'src'), [], () => true),
  join(ROOT, 'web', 'index.html'),
  join(ROOT, 'web', 'vite.config.ts'),
  // The dashboard imports the HTTP API's shared types.
  ...walk(join(ROOT, 'src', 'api'), [], isTs),
];

/** What is out of date: a list of `lib`, `web` (empty when everything is built). */
export function staleParts() {
  const stale = [];
  if (!existsSync(join(DIST, 'index.js')) || readStamp(LIB_STAMP) !== stampOf(libInputs())) stale.push('lib');
  if (
    existsSync(join(ROOT, 'web', 'index.html')) &&
    (!existsSync(join(ROOT, 'web', 'dist', 'index.html')) || readStamp(WEB_STAMP) !== stampOf(webInputs()))
  ) {
    stale.push('web');
  }
  return stale;
}

/** Sets src/version.ts's PACKAGE_VERSION to package.json's version; true when it changed. */
export function syncVersion() {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const text = readFileSync(VERSION_FILE, 'utf8');
  const m = VERSION_LINE.exec(text);
  if (!m) throw new Error(`${VERSION_FILE}: no line "export const PACKAGE_VERSION: string = '...';" to set`);
  if (m[1] === version) return false;
  writeFileSync(
    VERSION_FILE,
    text.replace(VERSION_LINE, `export const PACKAGE_VERSION: string = '${version}';`),
  );
  console.error(`gossip build: src/version.ts now says ${version} (package.json)`);
  return true;
}

async function buildLib() {
  const require = createRequire(import.meta.url);
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    console.error('gossip build: TypeScript is not installed: run `npm install` (with dev dependencies).');
    process.exit(1);
  }
  if (!existsSync(join(DIST, 'index.js'))) rmSync(join(DIST, '.tsbuildinfo'), { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error('gossip build: tsc failed (see above)');
    process.exit(r.status ?? 1);
  }
  removeOrphans();
  const { LOADED_APART } = await import(pathToFileURL(join(DIST, 'cli', 'main.js')).href);
  bundleCli(require, LOADED_APART);
  writeFileSync(LIB_STAMP, stampOf(libInputs()));
  console.error(
    `gossip build: compiled src/ into dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/**
 * The CLI in two bundles, each one CommonJS file holding what it needs of dist/ (Node's
 * built-ins and packages stay outside); bin/gossip.js, CommonJS too, picks one. A process that
 * starts with no ES module never sets up Node's ES module loader; one file loads in about half
 * the time of the modules it holds. Without esbuild (an --omit=dev install) there are no
 * bundles, and every command runs from dist/ module by module.
 *   - dist/cli/main.bundle.cjs, for the client commands (members, event, kv, version, ...):
 *     the CLI without the commands of LOADED_APART (src/cli/main.ts). A `gossip members` starts
 *     about 25 ms sooner than from the ES modules of dist/ (`npm run bench -- cli-start`).
 *   - dist/cli/agent.bundle.cjs, for those (`gossip agent`, `doctor`, `sim`): the whole CLI.
 *     Against the hundred ES modules of dist/ the agent answers its API sooner and holds about
 *     7 MiB less; against one ES module bundle, it spends about 20 ms less CPU before it answers.
 * A bundle sits in dist/cli/, where `import.meta.url` (replaced by the bundle's own file URL,
 * as CommonJS has no import.meta) points as it does for every module of dist/: two levels
 * below the package. Both are strict mode, as the ES modules they were made from.
 */
function bundleCli(require, LOADED_APART) {
  const client = join(DIST, 'cli', 'main.bundle.cjs');
  const whole = join(DIST, 'cli', 'agent.bundle.cjs');
  for (const f of [client, whole]) rmSync(f, { force: true });
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    console.warn('gossip build: esbuild is not installed: the CLI runs from dist/ unbundled.');
    return;
  }
  const common = {
    entryPoints: [join(DIST, 'cli', 'main.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: `'use strict';\nconst __bundleUrl = require('node:url').pathToFileURL(__filename).href;` },
    logLevel: 'silent',
  };
  for (const [outfile, external] of [
    [whole, []],
    [client, LOADED_APART.map((name) => `./commands/${name}.js`)],
  ]) {
    // A warning here (a top-level await, an import.meta other than its url) means the CommonJS
    // bundle would not run as the modules do: fail the build instead.
    const r = esbuild.buildSync({ ...common, outfile, external });
    if (r.warnings.length > 0) {
      rmSync(outfile, { force: true });
      console.error(esbuild.formatMessagesSync(r.warnings, { kind: 'warning' }).join('\n'));
      console.error(`gossip build: ${relative(ROOT, outfile)} would not run as dist/ does (see above)`);
      process.exit(1);
    }
    asciiOnly(outfile);
  }
}

/**
 * Rewrites a bundle's remaining non-ASCII characters as `\u` escapes. esbuild escapes them in
 * code (its default `charset: 'ascii'`) but copies comments as they are, and a single "—" in a
 * comment makes V8 hold the whole source as a two-byte string: the agent's 0.85 MB bundle took
 * 1.7 MB of heap for its source alone. What is left after esbuild is in comments, where an
 * escape reads the same. test/cli/agent-footprint.test.ts checks the bundles are ASCII.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

/** Deletes dist/ outputs whose source file no longer exists. */
function removeOrphans() {
  for (const out of walk(DIST, [], (n) => n.endsWith('.js') || n.endsWith('.d.ts'))) {
    const rel = relative(DIST, out).replace(/\.d\.ts$|\.js$/, '.ts');
    if (!existsSync(join(ROOT, 'src', rel))) rmSync(out);
  }
}

async function buildWeb() {
  let vite;
  try {
    vite = await import('vite');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.warn(
      'gossip build: not building the web dashboard: Vite is not installed (a --omit=dev install?).\n' +
        '              The agent runs without it; `npm install` with dev dependencies, then `npm run build`.',
    );
    return;
  }
  const web = join(ROOT, 'web');
  const t0 = performance.now();
  await vite.build({ root: web, configFile: join(web, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(WEB_STAMP, stampOf(webInputs()));
  console.error(
    `gossip build: built the dashboard into web/dist in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

async function cli(args) {
  const force = args.includes('--force');
  if (args.includes('--check')) {
    const stale = staleParts();
    if (stale.length > 0) {
      console.error(`gossip: the build is out of date (${stale.join(', ')}): run \`npm run build\``);
      process.exit(1);
    }
    return;
  }
  syncVersion();
  const stale = force ? ['lib', 'web'] : staleParts();
  if (stale.includes('lib')) await buildLib();
  if (stale.includes('web')) await buildWeb();
  if (stale.length === 0) console.error('gossip build: up to date');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await cli(process.argv.slice(2));
