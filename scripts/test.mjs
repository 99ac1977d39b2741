#!/usr/bin/env node
// `npm test`: everything a contributor must keep green, in one command.
//   0. the build (scripts/build.mjs: dist/ and web/dist, only what changed; tests that spawn
//      bin/gossip.js run the built code)
//   1. biome (lint + format check)   2. tsc --noEmit (strict types: the package, then the dashboard)
//   3. every test file, each in a node process of its own (node:test, TypeScript through tsx)
// Usage: node scripts/test.mjs [--skip-static] [--jobs N] [--only PATTERN]... [FILE]... (--help)
// PATTERN is a substring of a test file's path (for example `--only wire`). Steps 1 and 2 run
// only for the whole suite; the build always runs.
//
// Steps 1-3 share JOBS lanes (--jobs, or GOSSIP_TEST_JOBS; 2 by default, the CI machine's cores),
// and no file waits for another's result. Which files may run side by side is declared in the
// files, by a line comment of their own (anywhere in the first lines):
//
//   // npm test: alone (why)   nothing runs beside it but the static checks (biome, tsc), which
//                             time nothing: for a file whose processes would starve a neighbour
//                             (the fault harness: 40 agents, each in a session of its own, get
//                             40 of the kernel's autogroup CPU shares to the one of the rest)
//   // npm test: heavy (why)   never beside another heavy (or alone) file: for files that start
//                             many processes or network namespaces, or flood an agent
//   // npm test: untimed (why) may run beside anything, an alone file too: for files that time
//                             nothing real (no sockets, timers or child processes whose speed
//                             matters: the simulator on its virtual clock, pure codecs), which
//                             a starved lane only slows down
//
// Any other file may run beside anything but an `alone` one. Within those rules the longest
// files start first: each file's last duration is kept in node_modules/.cache/gossip-test.json
// (without it, a first run goes by file size). Each file's TAP output is printed in one piece
// when it ends, the static checks' output likewise; then a summary: counts, every failed test,
// the slowest files, the wall time and the machine's load.
//
// Each file runs in a process group (and session) of its own, so that a file still running
// after FILE_TIMEOUT_S (GOSSIP_TEST_FILE_TIMEOUT_S) is stopped with everything it started —
// SIGTERM first, which the network-namespace tests clean up on, then SIGKILL — and counted as
// failed; SIGINT and SIGTERM to this script are passed on the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const only = [];
const files = [];
let skipStatic = false;
let jobs = Number(process.env.GOSSIP_TEST_JOBS ?? 2);
const USAGE = `usage: node scripts/test.mjs [--skip-static] [--jobs N] [--only PATTERN]... [FILE]...
  (npm test runs it with no arguments: the build, biome, tsc and every test file)
  --only PATTERN   run the test files whose path contains PATTERN (repeatable)
  --jobs N         lanes side by side (default 2, or GOSSIP_TEST_JOBS)
  --skip-static    leave out biome and tsc (they run only for the whole suite anyway)
  FILE             a test file to run (test/.../x.test.ts), instead of all of them
  GOSSIP_TEST_FILE_TIMEOUT_S: seconds a file may run before it is stopped (default 1200)`;
/** Wrong arguments: say what and how, exit 2 (like the CLI). */
function usageError(message) {
  console.error(`scripts/test.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--help' || a === '-h') {
    console.log(USAGE);
    process.exit(0);
  } else if (a === '--only' || a === '--jobs') {
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) usageError(`${a} needs a value`);
    if (a === '--only') only.push(value);
    else jobs = Number(value);
  } else if (a === '--skip-static') skipStatic = true;
  else if (a.startsWith('-')) usageError(`unknown option ${a}`);
  else files.push(a);
}
for (const file of files) {
  if (!existsSync(join(root, file))) usageError(`no such test file: ${file}`);
}
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`--jobs (or GOSSIP_TEST_JOBS) must be a whole number >= 1, not ${jobs}`);
  process.exit(2);
}
/** How long one test file may run before it is stopped (the longest takes a few minutes). */
const FILE_TIMEOUT_S = Number(process.env.GOSSIP_TEST_FILE_TIMEOUT_S ?? 1200);
/** After SIGTERM, how long a stopped file has to clean up before SIGKILL. */
const KILL_GRACE_MS = 15_000;
const CACHE = join(root, 'node_modules', '.cache', 'gossip-test.json');
const MARKER = /^\/\/ npm test: (alone|heavy|untimed)\b/m;

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
console.log(`$ ${process.execPath} scripts/build.mjs`);
const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error(`\nfailed: the build (exit ${build.status ?? build.signal})`);
  process.exit(build.status ?? 1);
}
let tests = files.length > 0 ? files : findTests(join(root, 'test'), []).sort();
if (only.length > 0) tests = tests.filter((t) => only.some((o) => t.includes(o)));
if (tests.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

let lastSeconds = {};
try {
  lastSeconds = JSON.parse(readFileSync(CACHE, 'utf8'));
} catch {
  // no earlier run here: file sizes stand in for durations
}

/** @typedef {{ name: string, cls: 'static' | 'alone' | 'heavy' | 'untimed' | 'normal', cmd: string, args: string[], weight: number }} Job */
/** @type {Job[]} */
const queue = [];
if (!skipStatic && !partial) {
  const npx = (a) => ({ name: `npx ${a.join(' ')}`, cls: 'static', cmd: 'npx', args: a, weight: Infinity });
  queue.push(
    npx(['tsc', '--noEmit', '-p', '.']),
    npx(['tsc', '--noEmit', '-p', 'web']),
    npx(['biome', 'check', '.']),
  );
}
for (const file of tests) {
  const head = readFileSync(join(root, file), 'utf8').slice(0, 8192);
  const cls = MARKER.exec(head)?.[1] ?? 'normal';
  const weight = lastSeconds[file] ?? statSync(join(root, file)).size / 1000;
  queue.push({
    name: file,
    cls,
    cmd: process.execPath,
    args: ['--import', 'tsx', '--test-reporter=tap', file],
    weight,
  });
}
// An alone file first, with the static checks and the untimed files beside it; then the heavy
// files, the others filling in.
const rank = { alone: 0, static: 1, heavy: 2, normal: 3, untimed: 3 };
queue.sort((a, b) => rank[a.cls] - rank[b.cls] || b.weight - a.weight);

/** May `job` start beside the jobs now running? */
function fits(job, running) {
  const classes = [...running].map((r) => r.job.cls);
  if (job.cls === 'alone') return classes.every((c) => c === 'static');
  if (classes.includes('alone')) return job.cls === 'static' || job.cls === 'untimed';
  if (job.cls === 'heavy') return !classes.includes('heavy');
  return true;
}

const t0 = performance.now();
const load0 = loadavg()[0];
const clock = () => {
  const s = Math.round((performance.now() - t0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
/** @type {Set<{ job: Job, child: import('node:child_process').ChildProcess }>} */
const running = new Set();
const results = [];
let stopping = false;

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function start(job) {
  const started = performance.now();
  const child = spawn(job.cmd, job.args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  const entry = { job, child };
  running.add(entry);
  console.log(`# [${clock()}] start ${job.name}${job.cls === 'normal' ? '' : ` (${job.cls})`}`);
  const chunks = [];
  child.stdout.on('data', (d) => chunks.push(d));
  child.stderr.on('data', (d) => chunks.push(d));
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    killGroup(child, 'SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, FILE_TIMEOUT_S * 1000);
  return new Promise((resolve) => {
    child.on('error', (e) => chunks.push(Buffer.from(`${e.message}\n`)));
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      // Whatever the file started in its group and left behind goes too.
      killGroup(child, 'SIGKILL');
      running.delete(entry);
      const seconds = (performance.now() - started) / 1000;
      const out = Buffer.concat(chunks).toString('utf8');
      const ok = code === 0 && !timedOut;
      const why = timedOut ? `stopped after ${FILE_TIMEOUT_S} s` : ok ? 'ok' : `exit ${code ?? signal}`;
      console.log(`\n# ━━ ${job.name}: ${why} in ${seconds.toFixed(1)} s [${clock()}]`);
      process.stdout.write(out.endsWith('\n') || out === '' ? out : `${out}\n`);
      results.push({ job, ok, why, seconds, out });
      resolve();
    });
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping ${running.size} running file(s)`);
    for (const r of running) killGroup(r.child, signal);
    setTimeout(() => {
      for (const r of running) killGroup(r.child, 'SIGKILL');
      process.exit(130);
    }, KILL_GRACE_MS).unref();
  });
}

await new Promise((resolveAll) => {
  const pump = () => {
    if (stopping) {
      if (running.size === 0) process.exit(130);
      return;
    }
    while (running.size < jobs) {
      const i = queue.findIndex((job) => fits(job, running));
      if (i < 0) break;
      const [job] = queue.splice(i, 1);
      start(job).then(pump);
    }
    if (running.size === 0 && queue.length === 0) resolveAll();
  };
  pump();
});

// The summary.
const sum = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
for (const r of results) {
  for (const k of Object.keys(sum)) {
    const m = new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.out);
    if (m) sum[k] += Number(m[1]);
  }
}
const failed = results.filter((r) => !r.ok);
const wall = (performance.now() - t0) / 1000;
console.log('\n# ━━ summary');
const testFiles = results.filter((r) => r.job.cls !== 'static');
const sumSeconds = testFiles.reduce((a, r) => a + r.seconds, 0);
console.log(
  `# ${testFiles.length} test files, ${sum.tests} tests: ${sum.pass} passed, ${sum.fail} failed, ` +
    `${sum.skipped} skipped, ${sum.todo} todo, ${sum.cancelled} cancelled`,
);
console.log('# slowest files (s):');
for (const r of [...testFiles].sort((a, b) => b.seconds - a.seconds).slice(0, 12))
  console.log(
    `#   ${r.seconds.toFixed(1).padStart(6)}  ${r.job.name}${r.job.cls === 'normal' ? '' : ` (${r.job.cls})`}`,
  );
for (const r of failed) {
  console.log(`# FAILED ${r.job.name}: ${r.why}`);
  for (const line of r.out.split('\n')) if (/^\s*not ok \d+ /.test(line)) console.log(`#   ${line.trim()}`);
}
const fmt = (s) => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
console.log(
  `# wall ${fmt(wall)} on ${jobs} lanes (test files ${fmt(sumSeconds)} in all); ` +
    `load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
);

try {
  const next = { ...lastSeconds };
  for (const r of testFiles) next[r.job.name] = Math.round(r.seconds * 10) / 10;
  mkdirSync(dirname(CACHE), { recursive: true });
  writeFileSync(CACHE, `${JSON.stringify(next, null, 1)}\n`);
} catch {
  // a read-only checkout: the next run orders by file size
}
process.exit(failed.length > 0 ? 1 : 0);
