#!/usr/bin/env node
// `npm test`: everything a contributor must keep green, in one command.
//   0. the build (scripts/build.mjs: dist/ and web/dist, only what changed; tests that spawn
//      bin/gossip.js run the built code)
//   1. biome (lint + format check)   2. tsc --noEmit (strict types: the package, then the dashboard)
//   3. node --test on every test file (TypeScript through tsx)
// Usage: node scripts/test.mjs [--skip-static] [--only PATTERN]... [FILE]...
// PATTERN is a substring of a test file's path (for example `--only wire`). Steps 1 and 2 run
// only for the whole suite; the build always runs.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const only = [];
const files = [];
let skipStatic = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only') only.push(args[++i]);
  else if (args[i] === '--skip-static') skipStatic = true;
  else files.push(args[i]);
}

function run(cmd, cmdArgs) {
  console.log(`\n$ ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\nfailed: ${cmd} ${cmdArgs.slice(0, 3).join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const partial = only.length > 0 || files.length > 0;
run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
if (!skipStatic && !partial) {
  run('npx', ['biome', 'check', '.']);
  run('npx', ['tsc', '--noEmit', '-p', '.']);
  run('npx', ['tsc', '--noEmit', '-p', 'web']);
}
let tests = files.length > 0 ? files : findTests(join(root, 'test'), []).sort();
if (only.length > 0) tests = tests.filter((t) => only.some((o) => t.includes(o)));
if (tests.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...tests]);
