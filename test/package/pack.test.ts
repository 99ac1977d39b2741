/**
 * The package as a user gets it: `npm pack`, then `npm install --omit=dev` of the tarball into a
 * fresh temporary directory (no TypeScript loader, no dev dependency), and there:
 * `import('gossip')`, `require('gossip')` (Node 20.19+), the README's library example (two
 * nodes joining and exchanging a user event) on plain node, a TypeScript consumer compiled with
 * `tsc --strict` against the shipped declarations, and `npx gossip agent` serving its
 * dashboard. It prints the installed size and the agent's start time.
 *
 * The install reads the npm registry, preferring the local cache (`npm ci` has filled it with
 * the same pinned versions), so it is quick and works offline once the cache is warm.
 */
// npm test: heavy (npm pack, npm install, tsc)
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtBin } from '../support/gossip-agent.ts';
import { freePort } from '../support/serf.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const dir = mkdtempSync(join(tmpdir(), 'gossip-pack-'));
const app = join(dir, 'app');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

function node(args: string[], cwd = app): Promise<Run> {
  return run(process.execPath, args, cwd);
}

/** Bytes of every file under `path` (apparent size, as `du -sb`). */
function sizeOf(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of readdirSync(path)) total += sizeOf(join(path, name));
  return total;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** The first ```ts block under the README's "## As a library". */
function readmeLibraryExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'the README has a TypeScript library example');
  return m[1]!;
}

describe('npm pack, installed in a fresh directory without dev dependencies', () => {
  let tarball = '';
  before(async () => {
    builtBin(); // the tree must be built (npm pack builds too, through prepare)
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT);
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as {
      filename: string;
      size: number;
      files: { path: string }[];
    }[];
    tarball = join(dir, info!.filename);
    const paths = info!.files.map((f) => f.path);
    for (const p of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/gossip.js',
      // It says bin/gossip.js is CommonJS (the package is ES modules): without it the command fails.
      'bin/package.json',
      'dist/index.js',
      'dist/index.d.ts',
    ]) {
      assert.ok(paths.includes(p), `the tarball holds ${p}`);
    }
    assert.ok(paths.includes('web/dist/index.html'), 'the tarball holds the built dashboard');
    assert.ok(
      !paths.some((p) => p.startsWith('src/') || p.startsWith('test/') || p.includes('.tsbuildinfo')),
    );
    console.log(`tarball: ${info!.filename}, ${mb(info!.size)} packed, ${paths.length} files`);

    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    const t0 = performance.now();
    const installed = await run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball],
      app,
      300_000,
    );
    assert.equal(installed.code, 0, installed.stderr);
    const nm = join(app, 'node_modules');
    console.log(
      `installed in ${((performance.now() - t0) / 1000).toFixed(1)} s: node_modules ${mb(sizeOf(nm))} ` +
        `(gossip itself ${mb(sizeOf(join(nm, 'gossip')))}, ${readdirSync(nm).filter((n) => !n.startsWith('.')).length} top-level packages)`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has no TypeScript loader, compiler or bundler installed', () => {
    for (const name of ['tsx', 'typescript', 'esbuild', 'vite', '@types/node']) {
      assert.ok(!existsSync(join(app, 'node_modules', name)), `${name} is not installed`);
    }
  });

  it('import() and require() of every entry, on plain node', async () => {
    const imported = await node([
      '--input-type=module',
      '-e',
      `const g = await import('gossip'); await import('gossip/wire'); const c = await import('gossip/client');
       console.log(g.PACKAGE_VERSION, typeof g.Serf, typeof c.GossipClient);`,
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.stdout.trim(), `${pkg.version} function function`);
    const required = await node([
      '-e',
      `const g = require('gossip'); require('gossip/wire'); require('gossip/client');
       console.log(g.PACKAGE_VERSION, typeof g.Memberlist);`,
    ]);
    assert.equal(required.code, 0, required.stderr);
    assert.equal(required.stdout.trim(), `${pkg.version} function`);
  });

  it("the README's library example: two nodes join and exchange a user event", async () => {
    writeFileSync(join(app, 'readme-example.mjs'), readmeLibraryExample());
    const r = await node(['readme-example.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^db-1 sees joined: web-1$/m);
    assert.match(r.stdout, /^db-1 got event deploy: v2$/m);
  });

  it('a TypeScript consumer compiles with tsc --strict against the shipped declarations', async () => {
    const consumer = `${readmeLibraryExample()}
import { GossipClient, type MemberJson, type AgentEventMap } from 'gossip/client';
import { decodeLeafMessage, MessageType } from 'gossip/wire';
import { ConfigError, Memberlist, type SerfEvents, VirtualClock } from 'gossip';

const client = new GossipClient({ http: '127.0.0.1:7373' });
const first: Promise<MemberJson | undefined> = client.members().then((r) => r.members[0]);
const onUser = (e: SerfEvents['user']): string => e.name;
const payload: AgentEventMap['user']['lTime'] = 1;
const clock: VirtualClock = new VirtualClock();
const err: ConfigError | undefined = undefined;
export { first, onUser, payload, clock, err, decodeLeafMessage, MessageType, Memberlist };
`;
    writeFileSync(join(app, 'consumer.ts'), consumer);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          // The consumer installed no dev dependencies: Node's types come from this repository.
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = await node([tsc, '-p', 'tsconfig.json']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  });

  /**
   * Starts `cmd args` in its own process group (npx runs the agent as a child of its own), waits
   * until `GET /` answers, checks the dashboard, and kills the group. Resolves to the ms from
   * spawn to the first page.
   */
  async function serveDashboard(cmd: string, args: string[], http: string): Promise<number> {
    const t0 = performance.now();
    const proc: ChildProcess = spawn(cmd, args, {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let log = '';
    const collect = (d: Buffer) => {
      log += d.toString();
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    try {
      let page: Response | undefined;
      for (;;) {
        assert.ok(performance.now() - t0 < 60_000, `the agent did not serve / within 60 s:\n${log}`);
        assert.equal(proc.exitCode, null, `the agent exited:\n${log}`);
        page = await fetch(`http://${http}/`).catch(() => undefined);
        if (page?.ok) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const startMs = performance.now() - t0;
      const html = await page.text();
      assert.match(html, /<script type="module"[^>]* src="\.\/assets\/[^"]+\.js"/);
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)![1]!;
      const js = await fetch(`http://${http}/${asset}`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      const self = (await (await fetch(`http://${http}/v1/agent`)).json()) as {
        name: string;
        version: string;
      };
      assert.deepEqual([self.name, self.version], ['packed', pkg.version]);
      return startMs;
    } finally {
      // The group of the process this test started: npx and the agent it runs.
      if (proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
    }
  }

  it('npx gossip agent serves its dashboard', async () => {
    const agentArgs = async () => [
      'agent',
      '--node',
      'packed',
      '--bind',
      `127.0.0.1:${await freePort()}`,
      '--http',
      `127.0.0.1:${await freePort()}`,
    ];
    const viaNpx = await agentArgs();
    const npxMs = await serveDashboard('npx', ['gossip', ...viaNpx], viaNpx.at(-1)!);
    const direct = await agentArgs();
    const bin = join(app, 'node_modules', '.bin', 'gossip');
    const directMs = await serveDashboard(process.execPath, [bin, ...direct], direct.at(-1)!);
    console.log(
      `agent start (spawn to dashboard served): ${directMs.toFixed(0)} ms with node, ` +
        `${npxMs.toFixed(0)} ms through npx; load average ${loadavg()[0]!.toFixed(2)}`,
    );
  });
});
