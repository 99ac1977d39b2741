/**
 * The README and the guides in docs/ against the code, so none can rot:
 * - every ```ts block is compiled (tsc --strict, against the built package, imported by its
 *   name) and run on plain node; it must exit 0 within a minute, and print each line a
 *   `// prints: TEXT` comment in it announces. A block marked ```ts no-run is compiled only.
 *   Examples that talk to an agent find it in $GOSSIP_HTTP (one started by this test);
 * - every ```sh block marked `run` runs under bash with the same environment;
 * - every `gossip` and `npx gossip` command line in a ```sh block names a real command and only
 *   flags its `--help` documents; every `npm run X` names a script, `npm run bench -- N` a bench;
 * - every relative link goes to a file that exists, and every #anchor to a heading in it;
 * - the numbers and lists the docs state about the code equal the code's constants.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVENT_HUB_HISTORY } from '../../src/agent/agent.ts';
import { MAX_BODY_BYTES, MAX_KV_WATCHES } from '../../src/agent/http.ts';
import { LOG_HUB_HISTORY } from '../../src/agent/logging.ts';
import { AGENT_EVENT_TYPES, ENDPOINTS } from '../../src/api/types.ts';
import { COMMAND_NAMES } from '../../src/cli/main.ts';
import { profileTuning } from '../../src/membership/options.ts';
import { PROTOCOL_SIM_MAX_NODES } from '../../src/sim/scenario.ts';
import { SIM_MAX_NODES } from '../../src/sim/strategy-sim.ts';
import { defaultStateOptions } from '../../src/state/options.ts';
import { builtBin, GossipAgent } from '../support/gossip-agent.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Inside the package, so that `import 'gossip'` resolves to it by its own name (self-reference). */
const WORK = join(ROOT, '.tmp', 'doc-examples');

/** The README and every guide (docs/spec holds the wire spec, not guides). */
const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  file: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  flags: string[];
  code: string;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({
      file,
      line: start + 1,
      lang: open[1]!,
      flags: open[2]!.split(/\s+/).filter(Boolean),
      code: `${body.join('\n')}\n`,
    });
  }
  return out;
}

const BLOCKS = DOC_FILES.flatMap(blocksOf);
const TS_BLOCKS = BLOCKS.filter((b) => b.lang === 'ts');
const exampleName = (b: Block) => `${b.file.replace(/[/.]/g, '_')}_${b.line}`;
const where = (b: Block) => `${b.file}:${b.line}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = WORK): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

describe('docs: code examples', () => {
  let agent: GossipAgent;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    builtBin(); // examples import the built package
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    agent = await GossipAgent.start({ node: 'docs-agent', profile: 'local', tags: { role: 'docs' } });
    // `gossip` on the PATH of shell examples: the built command.
    mkdirSync(join(WORK, 'bin'));
    writeFileSync(
      join(WORK, 'bin', 'gossip'),
      `#!/bin/sh\nexec "${process.execPath}" "${builtBin()}" "$@"\n`,
      {
        mode: 0o755,
      },
    );
    env = { ...process.env, GOSSIP_HTTP: agent.httpAddr, PATH: `${join(WORK, 'bin')}:${process.env.PATH}` };
  });
  after(async () => {
    await agent?.stop();
    rmSync(WORK, { recursive: true, force: true });
  });

  it('every TypeScript example compiles with tsc --strict against the built package', async () => {
    assert.ok(TS_BLOCKS.length >= 5, 'the docs have examples');
    for (const b of TS_BLOCKS) writeFileSync(join(WORK, `${exampleName(b)}.ts`), b.code);
    writeFileSync(
      join(WORK, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          types: ['node'],
          skipLibCheck: true,
          noEmitOnError: true,
          outDir: 'out',
          rootDir: '.',
        },
        include: ['*.ts'],
      }),
    );
    // .js files in .tmp are ES modules: the package root's "type": "module" covers them.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = await run(process.execPath, [tsc, '-p', WORK], env);
    // Point each error at the doc line it comes from.
    let errors = r.stdout;
    for (const b of TS_BLOCKS) {
      errors = errors.replace(
        new RegExp(`^${exampleName(b)}\\.ts\\((\\d+),(\\d+)\\)`, 'gm'),
        (_, l: string, c: string) => `${b.file}:${b.line + Number(l)}:${c}`,
      );
    }
    assert.equal(r.code, 0, `examples do not compile:\n${errors}`);
  });

  for (const b of TS_BLOCKS.filter((x) => !x.flags.includes('no-run'))) {
    it(`runs the example at ${where(b)}`, async () => {
      const js = join(WORK, 'out', `${exampleName(b)}.js`);
      assert.ok(existsSync(js), 'compiled (see the compile test)');
      const r = await run(process.execPath, [js], env);
      assert.equal(r.code, 0, `${where(b)} exited ${r.code}:\n${r.stdout}${r.stderr}`);
      for (const m of b.code.matchAll(/\/\/ prints: (.+)$/gm)) {
        assert.ok(r.stdout.includes(m[1]!.trim()), `${where(b)} prints "${m[1]}":\n${r.stdout}`);
      }
    });
  }

  for (const b of BLOCKS.filter((x) => x.lang === 'sh' && x.flags.includes('run'))) {
    it(`runs the shell example at ${where(b)}`, async () => {
      const r = await run('bash', ['-euo', 'pipefail', '-c', b.code], env);
      assert.equal(r.code, 0, `${where(b)} exited ${r.code}:\n${r.stdout}${r.stderr}`);
      for (const m of b.code.matchAll(/# prints: (.+)$/gm)) {
        assert.ok(r.stdout.includes(m[1]!.trim()), `${where(b)} prints "${m[1]}":\n${r.stdout}`);
      }
    });
  }
});

describe('docs: command lines', () => {
  const helps = new Map<string, string>();
  before(async () => {
    for (const name of COMMAND_NAMES) {
      const r = await run(process.execPath, [builtBin(), name, '--help'], process.env, ROOT);
      helps.set(name, r.stdout);
    }
  });

  it('every gossip command line names a command and only flags its --help documents', () => {
    let checked = 0;
    for (const b of BLOCKS.filter((x) => x.lang === 'sh')) {
      // Join continued lines (`\` at the end), keeping the first line's number.
      const lines: [number, string][] = [];
      for (const [i, raw] of b.code.split('\n').entries()) {
        const prev = lines.at(-1);
        if (prev?.[1].endsWith('\\')) prev[1] = `${prev[1].slice(0, -1)} ${raw}`;
        else lines.push([i, raw]);
      }
      for (const [i, raw] of lines) {
        const line = raw.replace(/#.*$/, '');
        for (const m of line.matchAll(/(?:^|[\s;&|(])(?:npx )?gossip ([a-z-]+)([^;&|)]*)/g)) {
          const [cmd, rest] = [m[1]!, m[2]!];
          const at = `${b.file}:${b.line + 1 + i}`;
          assert.ok(COMMAND_NAMES.includes(cmd), `${at}: "gossip ${cmd}" is not a command`);
          for (const flag of rest.match(/(?<=^|\s)--[a-z][a-z-]*/g) ?? []) {
            if (flag === '--help') continue;
            assert.ok(helps.get(cmd)!.includes(flag), `${at}: gossip ${cmd} --help does not list ${flag}`);
          }
          checked++;
        }
      }
    }
    assert.ok(checked >= 5, `only ${checked} command lines found`);
  });

  it('every npm run script and bench named exists', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const benches = [
      ...readFileSync(join(ROOT, 'bench', 'main.ts'), 'utf8').matchAll(/^\s+'?([a-z-]+)'?: \(\) => import/gm),
    ].map((m) => m[1]!);
    for (const file of DOC_FILES) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/npm run ([a-z:-]+)(?: -- ([a-z-]+))?/g)) {
        assert.ok(m[1]! in pkg.scripts, `${file}: npm run ${m[1]} is not a script`);
        if (m[1] === 'bench' && m[2]) assert.ok(benches.includes(m[2]), `${file}: no bench named ${m[2]}`);
      }
    }
  });
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text without its fenced code blocks (a fence is a line starting with three backticks). */
function withoutFences(text: string): string {
  let inFence = false;
  return text
    .split('\n')
    .filter((line) => {
      if (line.startsWith('```')) {
        inFence = !inFence;
        return false;
      }
      return !inFence;
    })
    .join('\n');
}

function anchorsOf(file: string): Set<string> {
  const text = withoutFences(readFileSync(file, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('docs: links', () => {
  it('every relative link goes to a file that exists, every anchor to a heading', () => {
    let checked = 0;
    for (const file of DOC_FILES) {
      const text = withoutFences(readFileSync(join(ROOT, file), 'utf8'));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path);
        assert.ok(existsSync(resolved), `${file}: link to ${target}: no ${relative(ROOT, resolved)}`);
        if (anchor && resolved.endsWith('.md')) {
          assert.ok(anchorsOf(resolved).has(anchor), `${file}: link to ${target}: no heading #${anchor}`);
        }
        checked++;
      }
    }
    assert.ok(checked >= 5);
  });
});

describe('docs: claims about the code', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const httpApi = readFileSync(join(ROOT, 'docs', 'http-api.md'), 'utf8');
  const n = (x: number) => x.toLocaleString('en-US');

  it('README: the command table lists every command; the simulator limits are the code’s', () => {
    for (const name of COMMAND_NAMES)
      assert.match(readme, new RegExp(`\\| \`gossip ${name}\\b|\`gossip ${name}\``), name);
    assert.ok(
      readme.includes(`up to ${n(SIM_MAX_NODES)} nodes`),
      `README: strategies up to ${n(SIM_MAX_NODES)}`,
    );
    assert.ok(
      readme.includes(`up to ${n(PROTOCOL_SIM_MAX_NODES)} nodes`),
      `README: protocol up to ${n(PROTOCOL_SIM_MAX_NODES)}`,
    );
  });

  it('docs/profiles.md: the table of values is the presets’', () => {
    const profiles = readFileSync(join(ROOT, 'docs', 'profiles.md'), 'utf8');
    const presets = { lan: profileTuning('lan'), wan: profileTuning('wan'), local: profileTuning('local') };
    const rows = [...profiles.matchAll(/^\| `(\w+)` \| (\d+) \| (\d+) \| (\d+) \|/gm)];
    assert.ok(rows.length >= 10, 'the values table');
    for (const [, field, lan, wan, local] of rows) {
      const key = field as keyof typeof presets.lan;
      assert.deepEqual(
        [lan, wan, local].map(Number),
        [presets.lan[key], presets.wan[key], presets.local[key]],
        `docs/profiles.md: ${field}`,
      );
    }
  });

  it('docs/limits.md: the replicated state’s option defaults are the code’s', () => {
    const limits = readFileSync(join(ROOT, 'docs', 'limits.md'), 'utf8');
    const section = limits.slice(limits.indexOf('## Replicated state'));
    const defaults = defaultStateOptions();
    const rows = [...section.matchAll(/^\| `(\w+)` \| ([\d,]+)/gm)].filter(([, f]) => f! in defaults);
    assert.deepEqual(
      rows.map(([, f]) => f).sort(),
      Object.keys(defaults)
        .filter((f) => f !== 'antiEntropyIntervalMs' && f !== 'sweepIntervalMs')
        .sort(),
      'a row for every limit',
    );
    for (const [, field, value] of rows)
      assert.equal(Number(value!.replace(/,/g, '')), defaults[field as keyof typeof defaults], field);
    assert.ok(section.includes(`| agent: \`MAX_KV_WATCHES\` | ${MAX_KV_WATCHES} `), 'MAX_KV_WATCHES');
    assert.ok(httpApi.includes(`\`MAX_KV_WATCHES\` (${MAX_KV_WATCHES})`), 'http-api.md: MAX_KV_WATCHES');
  });

  it('docs/http-api.md: every endpoint and event type, the body limit, the replayed history', () => {
    const rows = httpApi.split('\n').filter((l) => /^\| (GET|POST|PUT|DELETE) \|/.test(l));
    for (const e of ENDPOINTS) {
      const [method, path] = e.split(' ') as [string, string];
      // One row documents /v1/rtt/:a and /v1/rtt/:a/:b as `/v1/rtt/:a[/:b]`.
      const shown = path.startsWith('/v1/rtt/') ? '/v1/rtt/:a[/:b]' : path;
      assert.ok(
        rows.some((r) => r.startsWith(`| ${method} |`) && r.includes(`\`${shown}\``)),
        `docs/http-api.md has a row for ${e}`,
      );
    }
    for (const t of AGENT_EVENT_TYPES) assert.ok(httpApi.includes(`\`${t}\``), `event ${t} is documented`);
    assert.ok(httpApi.includes(`(${MAX_BODY_BYTES / 1024} KiB)`), 'MAX_BODY_BYTES');
    assert.ok(httpApi.includes(`up to ${EVENT_HUB_HISTORY} events`), 'EVENT_HUB_HISTORY');
    assert.ok(httpApi.includes(`(${LOG_HUB_HISTORY} records)`), 'LOG_HUB_HISTORY');
  });
});
