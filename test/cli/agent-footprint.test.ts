/**
 * What keeps a running `gossip agent` small (issue 14: resident memory per agent), checked on
 * the built agent; the sizes themselves are the membership benchmark's (`npm run bench --
 * membership`), not a test's:
 * - the bundles it runs are ASCII only, so that V8 holds its source one byte a character (one
 *   non-ASCII character in a comment doubled the 0.85 MB source on the heap);
 * - with GOSSIP_V8_OPT=0 it runs without V8's optimizing compiler (src/cli/commands/agent.ts,
 *   LEAN_V8_FLAGS), and with it by default: V8's own trace says what it optimized while the agent
 *   answered requests.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtBin } from '../support/gossip-agent.ts';
import { freePort } from '../support/serf.ts';

const BUNDLES = ['agent.bundle.cjs', 'main.bundle.cjs'];

/** Lines of V8's `--trace-opt` that say a function was compiled by TurboFan. */
const OPTIMIZED = /^\[completed (compiling|optimizing) .*TURBOFAN/;

/**
 * Runs `node --trace-opt gossip agent` with `GOSSIP_V8_OPT=opt` (unset when undefined), makes
 * it answer `requests` API calls, and returns the TurboFan lines V8 printed after its banner.
 */
async function optimizedWhileServing(opt: string | undefined, requests: number): Promise<string[]> {
  const http = `127.0.0.1:${await freePort()}`;
  const args = ['--trace-opt', builtBin(), 'agent', '--node', 'footprint', '--no-dashboard'];
  args.push('--bind', `127.0.0.1:${await freePort()}`, '--http', http, '--log-level', 'warn');
  const env = { ...process.env };
  delete env.GOSSIP_V8_OPT;
  if (opt !== undefined) env.GOSSIP_V8_OPT = opt;
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('is running')) {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}):\n${out}`);
      if (Date.now() > deadline) throw new Error(`the agent did not start in 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < requests; i++) {
      const res = await fetch(`http://${http}/v1/members`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const afterBanner = out.slice(out.indexOf('is running'));
  return afterBanner.split('\n').filter((l) => OPTIMIZED.test(l));
}

describe('gossip agent: footprint', () => {
  it('runs a bundle that is ASCII only (V8 holds its source one byte a character)', () => {
    for (const name of BUNDLES) {
      const bytes = readFileSync(fileURLToPath(new URL(`../../dist/cli/${name}`, import.meta.url)));
      const at = bytes.findIndex((b) => b > 0x7f);
      const line = at < 0 ? 0 : bytes.subarray(0, at).toString('latin1').split('\n').length;
      assert.equal(at, -1, `dist/cli/${name} line ${line} is not ASCII (scripts/build.mjs asciiOnly)`);
    }
  });

  it("runs without V8's optimizing compiler with GOSSIP_V8_OPT=0, and with it by default", async () => {
    // 1,500 member lists: with TurboFan on, V8 optimizes the HTTP path well before that.
    const lean = await optimizedWhileServing('0', 1500);
    assert.deepEqual(lean, [], 'the agent optimized functions with GOSSIP_V8_OPT=0');
    const unset = await optimizedWhileServing(undefined, 1500);
    assert.ok(unset.length > 0, 'GOSSIP_V8_OPT unset: V8 optimized nothing (is the check blind?)');
    assert.ok((await optimizedWhileServing('1', 1500)).length > 0, 'GOSSIP_V8_OPT=1: V8 optimized nothing');
  });

  it('says what is wrong with a bad GOSSIP_V8_OPT, and does not start', () => {
    const r = spawnSync(process.execPath, [builtBin(), 'agent', '--node', 'x', '--bind', '127.0.0.1:0'], {
      env: { ...process.env, GOSSIP_V8_OPT: 'yes' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /GOSSIP_V8_OPT: must be 0 or 1 .* not "yes"/);
  });
});
