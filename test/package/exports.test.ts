/**
 * The package as Node resolves it by name, from the built `dist/` (no TypeScript loader in the
 * child processes): every `exports` entry imports and requires (require(esm), Node 20.19+), has
 * its `.d.ts` beside it, reads no file at import time, and the command runs built code only.
 * `test/package/pack.test.ts` does the same from an installed tarball.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtBin } from '../support/gossip-agent.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RECORD_FS = fileURLToPath(new URL('../support/record-fs.mjs', import.meta.url));

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  files: string[];
  dependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const entries = Object.entries(pkg.exports).filter(([k]) => k !== './package.json') as [
  string,
  { types: string; default: string },
][];
/** `gossip`, `gossip/wire`, ... */
const specifiers = entries.map(([k]) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`));

/** `node ARGS` in the package root (where `gossip` resolves to this package by self-reference). */
function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('package: exports, bin, dependencies', () => {
  before(() => builtBin()); // fails with "run npm run build" when dist/ is stale

  it('every export points at built .js with a .d.ts beside it', () => {
    assert.ok(entries.length >= 2, 'gossip and gossip/wire');
    for (const [key, target] of entries) {
      assert.match(target.default, /^\.\/dist\/.*\.js$/, `${key}: built JavaScript`);
      assert.equal(target.types, target.default.replace(/\.js$/, '.d.ts'), `${key}: types beside it`);
      assert.ok(existsSync(join(ROOT, target.default)), `${target.default} is built`);
      assert.ok(existsSync(join(ROOT, target.types)), `${target.types} is built`);
    }
  });

  it('import() of every entry works on plain node and reads no file at import time', () => {
    const script = `
      for (const s of ${JSON.stringify(specifiers)}) {
        const m = await import(s);
        if (Object.keys(m).length < 5) throw new Error(s + ' exports almost nothing');
      }
      const g = await import('gossip');
      console.log(JSON.stringify({ version: g.PACKAGE_VERSION, fs: globalThis.__fsCalls }));`;
    const r = node(['--import', RECORD_FS, '--input-type=module', '-e', script]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { version: string; fs: string[] };
    assert.equal(out.version, pkg.version, 'the version comes from the build');
    assert.deepEqual(out.fs, [], 'no file system calls while importing');
  });

  it('require() of every entry works (require(esm), Node 20.19+)', () => {
    const script = `
      for (const s of ${JSON.stringify(specifiers)}) {
        const m = require(s);
        if (Object.keys(m).length < 5) throw new Error(s + ' exports almost nothing');
      }
      const { Serf, UdpTcpTransport } = require('gossip');
      console.log(typeof Serf, typeof UdpTcpTransport);`;
    const r = node(['-e', script]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'function function');
  });

  it('the command runs built code only, with no TypeScript loader', () => {
    const bin = readFileSync(join(ROOT, pkg.bin.gossip!), 'utf8');
    assert.doesNotMatch(bin, /tsx|esbuild|\.ts['"]/);
    const r = node([join(ROOT, pkg.bin.gossip!), 'version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], `gossip v${pkg.version}`);
  });

  it('runtime dependencies are only what runs in production', () => {
    // Go regular expressions for tag filters (re2js). The agent's HTTP, logs and metrics are
    // node:http and a few hundred lines of ours (src/agent/router.ts, logging.ts, prometheus.ts:
    // each says what the framework it replaces cost). Build and test tools are devDependencies.
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['re2js']);
    for (const f of ['dist', 'bin', 'web/dist', 'README.md', 'LICENSE']) assert.ok(pkg.files.includes(f), f);
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^Mozilla Public License Version 2\.0/);
  });
});
