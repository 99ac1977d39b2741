/**
 * Every `gossip` subcommand, run as a user runs it: the built `bin/gossip.js` in a child process,
 * against two real agents (started through the same command) on loopback, with encryption. Each
 * command's `--help` prints its usage and exits 0; a wrong flag prints the error and the usage
 * on stderr and exits 2 (nothing on stdout); an unknown command or none at all exits 2.
 */
// npm test: heavy (two agents and dozens of CLI processes)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GossipClient } from '../../src/api/client.ts';
import type { AgentEventMap } from '../../src/api/types.ts';
import { COMMAND_NAMES } from '../../src/cli/main.ts';
import { PACKAGE_VERSION } from '../../src/version.ts';
import { Keyring } from '../../src/wire/crypto.ts';
import { builtBin, GossipAgent } from '../support/gossip-agent.ts';
import { waitFor } from '../support/serf.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `gossip ARGS` through the built bin; never rejects (the exit code is in the result). */
function gossip(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [builtBin(), ...args],
      { timeout: 60_000, encoding: 'utf8', env: { ...process.env, GOSSIP_HTTP: '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** Runs `jobs` at most `limit` at a time (the box has 2 cores, shared). */
async function pool<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

/** A flag no command has, and a first argument each command accepts up to the flag. */
const BAD_FLAG = '--no-such-flag';

describe('gossip: help and usage errors of every command', () => {
  it('gossip --help lists every command; gossip alone prints the list on stderr and exits 2', async () => {
    const help = await gossip(['--help']);
    assert.equal(help.code, 0);
    for (const name of COMMAND_NAMES) assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'));
    const none = await gossip([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^Usage: gossip <command>/);
    const unknown = await gossip(['nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "nope"/);
  });

  it('every command: --help prints its usage (exit 0); a wrong flag prints the error and the usage (exit 2)', async () => {
    assert.ok(COMMAND_NAMES.length >= 14);
    const runs = await pool(
      4,
      COMMAND_NAMES.flatMap((name) => [
        async () => ({ name, kind: 'help', run: await gossip([name, '--help']) }),
        async () => ({ name, kind: 'bad', run: await gossip([name, BAD_FLAG]) }),
      ]),
    );
    for (const { name, kind, run } of runs) {
      if (kind === 'help') {
        assert.equal(run.code, 0, `gossip ${name} --help: ${run.stderr}`);
        assert.match(run.stdout, new RegExp(`^Usage: gossip ${name}\\b`), `gossip ${name} --help`);
      } else {
        assert.equal(run.code, 2, `gossip ${name} ${BAD_FLAG} exits 2: ${run.stdout}${run.stderr}`);
        assert.equal(run.stdout, '', `gossip ${name} ${BAD_FLAG}: nothing on stdout`);
        assert.match(run.stderr, new RegExp(`^gossip ${name}: Unknown option '${BAD_FLAG}'`));
        assert.match(run.stderr, new RegExp(`\\n\\nUsage: gossip ${name}\\b`), `${name}: the usage follows`);
      }
    }
  });

  it('bad values and arguments are usage errors too (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['version', 'extra'], /Unexpected argument 'extra'/],
      [['keygen', '--bits', '128'], /Unknown option '--bits'/],
      [['members', '--format', 'xml'], /--format must be json or table/],
      [['members', '--tag', 'role'], /--tag must be KEY=REGEX/],
      [['event'], /an event NAME is required/],
      [['event', '--coalesce', 'maybe', 'x'], /--coalesce must be true or false/],
      [['query', '--relay-factor', '9', 'q'], /--relay-factor must be a whole number from 0 to 5/],
      [['query', '--timeout', 'soon', 'q'], /"soon" is not a duration/],
      [['join'], /give at least one ADDRESS/],
      [['keys'], /give exactly one of/],
      [['keys', '--list', '--use', 'k'], /give exactly one of/],
      [['tags'], /give at least one --set/],
      [['tags', '--set', 'novalue'], /--set must be KEY=VALUE/],
      [['rtt'], /give one or two node names/],
      [['monitor', '--log-level', 'loud'], /--log-level must be/],
      [['info', '--format', 'xml'], /--format must be json or text/],
      [['sim', '--strategy', 'push'], /--nodes/],
      [['kv'], /expected a subcommand: set, get, del, list or watch/],
      [['kv', 'put', 'k', 'v'], /unknown subcommand "put"/],
      [['kv', 'set', 'k'], /expected KEY VALUE/],
      [['kv', 'list', '--format', 'xml'], /--format must be text or json/],
    ];
    const runs = await pool(
      4,
      cases.map(
        ([args]) =>
          () =>
            gossip(args),
      ),
    );
    cases.forEach(([args, re], i) => {
      const r = runs[i]!;
      assert.equal(r.code, 2, `gossip ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re, `gossip ${args.join(' ')}`);
      assert.match(r.stderr, new RegExp(`Usage: gossip ${args[0]}\\b`));
    });
  });

  it('a bad agent setting is a configuration error: exit 1, saying what is wrong and how to fix it', async () => {
    const r = await gossip(['agent', '--bind', 'nowhere']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bind: "nowhere" is not an ip:port; use e\.g\. 127\.0\.0\.1:7946/);
  });
});

describe('gossip: every command against two real agents', () => {
  const key1 = Buffer.from(Keyring.generateKey()).toString('base64');
  let a: GossipAgent;
  let b: GossipAgent;
  /** `gossip CMD ARGS --http A`. */
  const onA = (args: string[]) => gossip([...args, '--http', a.httpAddr]);

  before(async () => {
    [a, b] = await Promise.all([
      GossipAgent.start({ node: 'cmd-a', encrypt: key1, tags: { role: 'web' }, profile: 'local' }),
      GossipAgent.start({
        node: 'cmd-b',
        encrypt: key1,
        profile: 'local',
        eventHandlers: ['user:greet=cat >> {dir}/greet.log', 'query:whoami=echo i-am-b'],
      }),
    ]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('version and keygen', async () => {
    const v = await gossip(['version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.split('\n')[0], `gossip v${PACKAGE_VERSION}`);
    assert.match(v.stdout, /memberlist protocol \d+ \(understands \d+-\d+\), Serf protocol \d+/);
    const [k1, k2] = await Promise.all([gossip(['keygen']), gossip(['keygen'])]);
    for (const k of [k1, k2]) {
      assert.equal(k.code, 0);
      assert.equal(Buffer.from(k.stdout.trim(), 'base64').length, 32);
    }
    assert.notEqual(k1.stdout, k2.stdout);
    assert.equal((await gossip(['--version'])).stdout, v.stdout);
  });

  it('join, then members (table, json and filters)', async () => {
    const j = await onA(['join', b.addr]);
    assert.equal(j.code, 0, j.stderr);
    assert.equal(j.stdout, 'Successfully joined cluster by contacting 1 nodes.\n');
    await waitFor('b sees a', async () => (await b.statusOf('cmd-a')) === 'alive');
    const table = await onA(['members']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^cmd-a\s+127\.0\.0\.1:\d+\s+alive\s+role=web$/m);
    assert.match(table.stdout, /^cmd-b\s+127\.0\.0\.1:\d+\s+alive$/m);
    const json = JSON.parse((await onA(['members', '--format', 'json'])).stdout) as {
      members: { name: string; status: string; protocol: { version: number } }[];
    };
    assert.deepEqual(json.members.map((m) => m.name).sort(), ['cmd-a', 'cmd-b']);
    const filtered = await Promise.all([
      onA(['members', '--tag', 'role=w.*']),
      onA(['members', '--name', 'cmd-b']),
      onA(['members', '--status', 'failed']),
    ]);
    assert.deepEqual(
      filtered.map((r) => r.stdout.split('\n').filter(Boolean).length),
      [1, 1, 0],
    );
    assert.match(filtered[0]!.stdout, /^cmd-a /);
    // The agent refuses a bad status with a message; the CLI says so and exits 1.
    const bad = await onA(['members', '--status', 'sleepy']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /status must be alive, leaving, left or failed/);
  });

  it('event: reaches the other agent’s handler', async () => {
    const r = await onA(['event', 'greet', 'hello from a']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Event 'greet' dispatched! Coalescing enabled: true\n");
    const log = join(b.dir, 'greet.log');
    await waitFor('the handler on b', () => readFileSync(log, 'utf8').includes('hello from a'), 15_000);
  });

  it('query: acks from both, the response of b’s handler', async () => {
    const r = await onA(['query', '--timeout', '3s', 'whoami']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Query 'whoami' dispatched$/m);
    assert.match(r.stdout, /^Ack from 'cmd-a'$/m);
    assert.match(r.stdout, /^Ack from 'cmd-b'$/m);
    assert.match(r.stdout, /^Response from 'cmd-b': i-am-b\n?$/m);
    assert.match(r.stdout, /^Total Acks: 2$/m);
    const json = JSON.parse(
      (await onA(['query', '--format', 'json', '--timeout', '2s', '--node', 'cmd-b', 'whoami'])).stdout,
    );
    assert.deepEqual(json.Acks, ['cmd-b']);
    assert.match(json.Responses['cmd-b'], /^i-am-b/);
  });

  it('tags: set and delete, seen by the other agent', async () => {
    const set = await onA(['tags', '--set', 'zone=z1', '--set', 'tier=gold']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'Successfully updated agent tags\n');
    await waitFor('b sees the tags', async () => {
      const m = (await b.members()).find((x) => x.name === 'cmd-a');
      return m?.tags.zone === 'z1' && m.tags.tier === 'gold';
    });
    assert.equal((await onA(['tags', '--delete', 'tier'])).code, 0);
    await waitFor('b sees the tag deleted', async () => {
      const m = (await b.members()).find((x) => x.name === 'cmd-a');
      return m !== undefined && !('tier' in m.tags);
    });
  });

  it('info: text and json', async () => {
    const text = await onA(['info']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^agent:\n\tname = cmd-a$/m);
    assert.match(text.stdout, /^\tmembers = 2$/m);
    const json = JSON.parse((await onA(['info', '--format', 'json'])).stdout) as {
      serf: { encrypted: boolean };
    };
    assert.equal(json.serf.encrypted, true);
  });

  it('rtt: an estimate from network coordinates', async () => {
    const r = await waitFor(
      'coordinates',
      async () => {
        const x = await onA(['rtt', 'cmd-b']);
        return x.code === 0 ? x : undefined;
      },
      20_000,
      250,
    );
    assert.match(r.stdout, /^Estimated cmd-b <-> cmd-a rtt: \d+\.\d{3} ms \(using LAN coordinates\)$/m);
    const unknown = await onA(['rtt', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no member named "nobody"/);
  });

  it('keys: list, install, use, remove across both agents', async () => {
    const key2 = (await gossip(['keygen'])).stdout.trim();
    const list = await onA(['keys', '--list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${key1.replace(/[+/]/g, '\\$&')}\\s+\\[2/2\\]$`, 'm'));
    for (const [flag, key, said] of [
      ['--install', key2, /Successfully installed key on 2\/2 nodes/],
      ['--use', key2, /Successfully changed the primary key on 2\/2 nodes/],
      ['--remove', key1, /Successfully removed key on 2\/2 nodes/],
    ] as const) {
      const r = await onA(['keys', flag, key]);
      assert.equal(r.code, 0, `${flag}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, said);
    }
    const after = await onA(['keys', '--list']);
    assert.doesNotMatch(after.stdout, new RegExp(key1.replace(/[+/]/g, '\\$&')));
    const bad = await onA(['keys', '--use', 'not-a-key']);
    assert.equal(bad.code, 1);
  });

  it('monitor: streams the agent’s log records until interrupted', async () => {
    const proc = spawn(
      process.execPath,
      [builtBin(), 'monitor', '--http', a.httpAddr, '--log-level', 'debug'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      // The recent past comes first: the agent's start-up lines.
      await waitFor('log lines', () => /^\S+ \[(INFO|DEBUG)\]\s+\S/m.test(out), 15_000);
    } finally {
      proc.kill('SIGINT');
    }
    assert.equal(await exited, 0);
  });

  it('sim: a strategy run and a protocol scenario, on the built command', async () => {
    const s = await gossip([
      'sim',
      '--strategy',
      'push',
      '--nodes',
      '200',
      '--seed',
      '7',
      '--format',
      'json',
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(JSON.parse(s.stdout));
    const c = await gossip(['sim', '--scenario', 'crash', '--nodes', '8', '--duration', '20', '--seed', '3']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stderr, /^crash: pass; /m);
    assert.equal((JSON.parse(c.stdout) as { params: { nodes: number } }).params.nodes, 8);
  });

  it('kv: set, get (here and from the other agent), list (text and json), del, watch', async () => {
    const set = await onA(['kv', 'set', 'color', 'red']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, '');
    assert.equal(
      (await onA(['kv', 'set', '--ttl', '1h', '--ephemeral', 'svc/http', '127.0.0.1:80'])).code,
      0,
    );
    const get = await onA(['kv', 'get', 'color']);
    assert.deepEqual([get.code, get.stdout], [0, 'red']);
    const onB = (args: string[]) => gossip([...args, '--http', b.httpAddr]);
    await waitFor(
      'b holds a’s key',
      async () => (await onB(['kv', 'get', '--node', 'cmd-a', 'color'])).stdout === 'red',
    );
    const absent = await onB(['kv', 'get', 'color']);
    assert.deepEqual([absent.code, absent.stdout, absent.stderr], [1, '', '']);
    const json = JSON.parse((await onB(['kv', 'list', '--node', 'cmd-a', '--format', 'json'])).stdout);
    assert.deepEqual(Object.keys(json), ['nodes']);
    assert.deepEqual(json.nodes['cmd-a'].color, { value: 'red', version: 1 });
    const text = await onB(['kv', 'list', '--prefix', 'svc/']);
    assert.match(text.stdout, /^cmd-a\tsvc\/http\t127\.0\.0\.1:80\t\(version 2\)$/m);
    const watch = spawn(
      process.execPath,
      [builtBin(), 'kv', 'watch', '--http', b.httpAddr, '--node', 'cmd-a'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    watch.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    watch.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<number | null>((r) => watch.once('exit', (code) => r(code)));
    let token = '';
    try {
      await waitFor('the snapshot', () => /^ready \(resume token \S+\)$/m.test(out), 15_000);
      token = /^ready \(resume token (\S+)\)$/m.exec(out)![1]!;
      assert.match(out, /^set cmd-a color=red \(version 1, snapshot\)$/m);
      const del = await onA(['kv', 'del', 'color']);
      assert.deepEqual([del.code, del.stdout], [0, '']);
      await waitFor('the delete', () => /^delete cmd-a color \(deleted, version 3\)$/m.test(out), 15_000);
    } finally {
      watch.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    assert.match(err, /^to resume from here: gossip kv watch --since \S+\n$/);
    assert.equal((await onA(['kv', 'del', 'color'])).code, 1);
    // Resumed from the snapshot's token: no snapshot, only what came after it (the delete).
    const resumed = spawn(
      process.execPath,
      [builtBin(), 'kv', 'watch', '--http', b.httpAddr, '--node', 'cmd-a', '--since', token],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let again = '';
    resumed.stdout.on('data', (d: Buffer) => {
      again += d.toString();
    });
    const resumedExit = new Promise<number | null>((r) => resumed.once('exit', (code) => r(code)));
    try {
      await waitFor('the delete, resumed', () => /^delete cmd-a color /m.test(again), 15_000);
    } finally {
      resumed.kill('SIGINT');
    }
    assert.equal(await resumedExit, 0);
    assert.deepEqual(again.trimEnd().split('\n'), [
      `ready (resume token ${token})`,
      'delete cmd-a color (deleted, version 3)',
    ]);
  });

  it('leave: the agent leaves gracefully, exits 0, and the other sees it left (not failed)', async () => {
    const events: AgentEventMap['member-leave'][] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const e of new GossipClient({ http: a.httpAddr }).events({
        types: ['member'],
        signal: stop.signal,
      })) {
        if (e.event === 'member-leave') events.push(e.data);
      }
    })();
    const r = await gossip(['leave', '--http', b.httpAddr]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Graceful leave complete\n');
    assert.equal(await b.waitExit(20_000), 0);
    await waitFor('a sees b left', async () => (await a.statusOf('cmd-b')) === 'left', 15_000);
    stop.abort();
    await watching;
    assert.ok(events.some((e) => e.member.name === 'cmd-b'));
  });
});
