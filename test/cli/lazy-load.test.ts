/**
 * The CLI loads only the command that runs: `gossip version`, `gossip --help` or a client
 * command (`members`, `event`, ...) must not load the agent, the HTTP server, metrics, logging,
 * the protocol layers, the simulator or the dashboard code, which is what keeps a short command
 * fast to start (`npm run bench -- cli-start` measures it). Each case runs the built
 * `bin/gossip.js` with a hook that records every module URL it loads. A client command runs
 * from one CommonJS file, dist/cli/main.bundle.cjs, and `gossip agent` from another,
 * dist/cli/agent.bundle.cjs (scripts/build.mjs), so what a bundle holds is read from the bundle
 * itself: esbuild heads each module it inlines with a `// dist/...` line.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtBin } from '../support/gossip-agent.ts';
import { freePort } from '../support/serf.ts';

const RECORDER = fileURLToPath(new URL('../support/record-loads.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gossip-lazy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Module URLs no short command may load. */
const HEAVY = [
  /\/dist\/agent\/(agent|http|router|metrics|prometheus|dashboard|logging|snapshot|handlers|hub)\.js$/,
  /\/dist\/(membership|cluster|transport|broadcast|sim)\//,
  /\/node_modules\/re2js\//,
];

let n = 0;
/** Runs `gossip ARGS` and returns the URLs of the modules it loaded. */
function loads(args: string[]): { urls: string[]; status: number | null; stderr: string } {
  const out = join(dir, `loads-${n++}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, builtBin(), ...args], {
    env: { ...process.env, GOSSIP_RECORD_LOADS: out },
    encoding: 'utf8',
    timeout: 30_000,
  });
  let urls: string[] = [];
  try {
    urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  } catch {
    // nothing loaded (cannot happen: bin/gossip.js itself is recorded)
  }
  return { urls, status: r.status, stderr: r.stderr };
}

const NO_AGENT = '127.0.0.1:1';
const SHORT_COMMANDS: string[][] = [
  ['version'],
  ['--help'],
  ['keygen'],
  ['members', '--help'],
  ['members', '--http', NO_AGENT],
  ['event', '--http', NO_AGENT, 'deploy'],
  ['query', '--http', NO_AGENT, '--timeout', '1s', 'ping'],
  ['monitor', '--http', NO_AGENT],
  ['info', '--http', NO_AGENT],
  ['rtt', '--http', NO_AGENT, 'a'],
  ['members', '--bogus-flag'],
];

const CLIENT_BUNDLE = fileURLToPath(new URL('../../dist/cli/main.bundle.cjs', import.meta.url));
const AGENT_BUNDLE = fileURLToPath(new URL('../../dist/cli/agent.bundle.cjs', import.meta.url));
const distCli = fileURLToPath(new URL('../../dist/cli/', import.meta.url));

/** The modules of dist/ esbuild inlined into `bundle`, as `/dist/...` paths. */
function bundled(bundle: string): string[] {
  return [...readFileSync(bundle, 'utf8').matchAll(/^\/\/ (dist\/\S+\.js)$/gm)].map((m) => `/${m[1]}`);
}

/** What of dist/ a run loaded, as `/dist/...` paths, each once. */
const ofDist = (urls: string[]) => [
  ...new Set(urls.filter((u) => u.includes('/dist/')).map((u) => u.slice(u.indexOf('/dist/')))),
];

describe('gossip CLI: lazy loading', () => {
  it('the client bundle holds the client commands and no agent, protocol or simulator code', () => {
    const inside = bundled(CLIENT_BUNDLE);
    for (const m of ['/dist/cli/main.js', '/dist/cli/commands/members.js', '/dist/api/client.js']) {
      assert.ok(inside.includes(m), `the bundle holds ${m} (it holds ${inside.join(', ')})`);
    }
    const heavy = inside.filter((m) => HEAVY.some((re) => re.test(m)));
    assert.deepEqual(heavy, [], 'the client bundle holds heavy modules');
    // Nor does it inline the commands loaded apart: it imports them from dist/cli/commands/.
    for (const name of ['agent', 'doctor', 'sim']) {
      assert.ok(!inside.includes(`/dist/cli/commands/${name}.js`), `the bundle holds the ${name} command`);
    }
  });

  for (const args of SHORT_COMMANDS) {
    it(`gossip ${args.join(' ')} runs from the client bundle alone, and loads no agent, protocol or simulator code`, () => {
      const { urls, status, stderr } = loads(args);
      assert.ok(
        urls.some((u) => u.endsWith('/bin/gossip.js')),
        `the recorder saw nothing: ${stderr}`,
      );
      assert.notEqual(status, null, 'the command did not exit');
      assert.deepEqual(ofDist(urls), ['/dist/cli/main.bundle.cjs'], `gossip ${args.join(' ')}: ${stderr}`);
      const heavy = urls.filter((u) => HEAVY.some((re) => re.test(u)));
      assert.deepEqual(heavy, [], `gossip ${args.join(' ')} loaded heavy modules`);
    });
  }

  it('without the bundles (built without esbuild), a client command loads only its own modules of dist/', () => {
    const bundles = [CLIENT_BUNDLE, AGENT_BUNDLE];
    for (const b of bundles) renameSync(b, `${b}.aside`);
    try {
      const { urls, stderr } = loads(['members', '--http', NO_AGENT]);
      assert.match(stderr, /cannot reach the gossip agent/);
      const dist = ofDist(urls);
      assert.ok(
        dist.includes('/dist/cli/main.js') && dist.includes('/dist/cli/commands/members.js'),
        dist.join(),
      );
      assert.deepEqual(
        dist.filter((m) => HEAVY.some((re) => re.test(m))),
        [],
        'gossip members loaded heavy modules',
      );
    } finally {
      for (const b of bundles) renameSync(`${b}.aside`, b);
    }
  });

  it('gossip doctor and gossip sim run from the bundle of the whole CLI, not from the client bundle', () => {
    for (const name of ['doctor', 'sim']) {
      const dist = ofDist(loads([name, '--help']).urls);
      // The client bundle is read to learn that the command is not in it.
      assert.deepEqual(dist, ['/dist/cli/main.bundle.cjs', '/dist/cli/agent.bundle.cjs'], name);
    }
    assert.ok(bundled(AGENT_BUNDLE).includes('/dist/cli/commands/sim.js'));
  });

  // Node's own list of the built-in modules a process loaded, written when it exits.
  const builtinsOut = join(dir, 'builtins.txt');
  const builtinsPreload = join(dir, 'builtins.cjs');
  writeFileSync(
    builtinsPreload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(builtinsOut)}, process.moduleLoadList.join('\\n')));`,
  );
  const builtins = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--require', builtinsPreload, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { loaded: readFileSync(builtinsOut, 'utf8'), stderr: r.stderr };
  };

  it('no command loads an ES module: the ES module loader, most of the start-up the bundles saved, stays unused', () => {
    // Node sets up the loader whenever an ES module is imported: its translators come then.
    const ESM = /NativeModule internal\/modules\/esm\/translators/;
    for (const args of [
      ['members', '--http', NO_AGENT],
      ['version'],
      ['agent', '--help'],
      ['sim', '--help'],
    ]) {
      const { loaded, stderr } = builtins([builtBin(), ...args]);
      assert.doesNotMatch(loaded, ESM, `gossip ${args.join(' ')} loaded an ES module: ${stderr}`);
    }
    // The check sees an ES module where one is loaded: the CLI's entry in dist/, unbundled.
    assert.match(builtins([join(distCli, 'main.js')]).loaded, ESM);
  });

  it('a client command makes its requests without loading fetch (undici)', () => {
    const cli = builtins([builtBin(), 'members', '--http', NO_AGENT]);
    assert.match(cli.stderr, /cannot reach the gossip agent/);
    assert.doesNotMatch(cli.loaded, /undici/);
    // The check sees fetch where it is used.
    assert.match(builtins(['-e', `fetch('http://${NO_AGENT}/').catch(() => {})`]).loaded, /undici/);
  });

  it('a running agent loads the regexp engine (re2js) only when a tag filter first comes', async () => {
    // ES module loads through the recorder, CommonJS ones from require.cache when it exits.
    const cjs = join(dir, 'cjs.txt');
    const preload = join(dir, 'cjs.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(cjs)}, Object.keys(require.cache).join('\\n')));`,
    );
    const run = async (withQuery: boolean): Promise<string[]> => {
      const out = join(dir, `agent-loads-${n++}.txt`);
      const http = `127.0.0.1:${await freePort()}`;
      const args = ['agent', '--node', 'lazy', '--bind', `127.0.0.1:${await freePort()}`, '--http', http];
      const child = spawn(
        process.execPath,
        ['--require', preload, '--import', RECORDER, builtBin(), ...args, '--no-dashboard'],
        { env: { ...process.env, GOSSIP_RECORD_LOADS: out }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let said = '';
      child.stderr.on('data', (d: Buffer) => {
        said += d.toString();
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the agent did not start in 30 s')), 30_000);
          child.stdout.on('data', (d: Buffer) => {
            if (d.toString().includes('is running')) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        // A command against it (which also gives it time to install its signal handlers, just
        // after the banner): a query with a tag filter, or a member list.
        const command = withQuery
          ? ['query', '--http', http, '--timeout', '1s', '--tag', 'role=w.b', 'ping']
          : ['members', '--http', http];
        const q = spawnSync(process.execPath, [builtBin(), ...command], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        assert.equal(q.status, 0, q.stderr);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
      if (!existsSync(cjs)) throw new Error(`no list at exit; agent said: ${said}`);
      return [...readFileSync(out, 'utf8').split('\n'), ...readFileSync(cjs, 'utf8').split('\n')];
    };
    const idle = await run(false);
    assert.ok(
      idle.some((u) => u.endsWith('/dist/cli/agent.bundle.cjs')),
      'the agent ran',
    );
    assert.deepEqual(
      idle.filter((u) => u.includes('/node_modules/re2js/')),
      [],
      'an agent that saw no tag filter loaded re2js',
    );
    const queried = await run(true);
    assert.ok(
      queried.some((u) => u.includes('/node_modules/re2js/')),
      'the tag filter was compiled',
    );
  });

  it('gossip agent runs the CLI bundled into one file (scripts/build.mjs), and nothing else of dist/', () => {
    const { urls } = loads(['agent', '--help']);
    assert.deepEqual(
      ofDist(urls),
      ['/dist/cli/agent.bundle.cjs'],
      'the agent loaded modules of dist/ one by one',
    );
  });

  it('the recorder sees heavy modules where they belong (without the bundle, agent --help loads the agent)', () => {
    const aside = `${AGENT_BUNDLE}.aside`;
    renameSync(AGENT_BUNDLE, aside);
    try {
      const { urls } = loads(['agent', '--help']);
      assert.ok(urls.some((u) => u.endsWith('/dist/agent/agent.js')));
      assert.ok(urls.some((u) => u.endsWith('/dist/agent/router.js')));
    } finally {
      renameSync(aside, AGENT_BUNDLE);
    }
  });
});
