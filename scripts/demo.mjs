#!/usr/bin/env node
// `npm run demo`: a local cluster of 5 `gossip agent`s on loopback, narrated on the terminal.
// It prints each agent's dashboard first, lets the agents converge, sends a user event and
// shows it reaching every node, then over and over kills one agent with SIGKILL (watch it turn
// suspect, then failed) and restarts it with its --data-dir, whose snapshot makes it rejoin by
// itself. Ctrl-C stops every agent (by PID) and removes the temporary directory.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'gossip.js');
const NODES = 5;
const ROLES = ['web', 'web', 'api', 'db', 'cache'];
/** Each wait is bounded; past it the demo says so and points at the agent's log. */
const WAIT_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'gossip-demo-'));
const t0 = Date.now();
const stop = new AbortController();
const say = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

// ---- agents ----

const agents = [];
for (let i = 1; i <= NODES; i++) {
  const name = `node-${i}`;
  const gossip = await freePort(true);
  const http = await freePort(false);
  agents.push({ name, role: ROLES[i - 1], gossip: `127.0.0.1:${gossip}`, http: `127.0.0.1:${http}` });
}
const watcher = agents[0]; // the agent whose view the narration reports

console.log(`gossip demo: ${NODES} agents on loopback. Open any dashboard while it runs:`);
for (const a of agents) console.log(`  ${a.name}  http://${a.http}/`);
console.log(`Logs and data in ${dir}; Ctrl-C stops every agent and removes it.`);
console.log(`Try also: node bin/gossip.js members --http ${watcher.http}\n`);
if (!existsSync(join(ROOT, 'web', 'dist', 'index.html'))) {
  console.log('(the dashboard is not built: run `npm run build`; the agents run without it)\n');
}

function start(a, join) {
  const data = `${dir}/${a.name}`;
  mkdirSync(data, { recursive: true });
  const args = [BIN, 'agent', '--node', a.name, '--bind', a.gossip, '--http', a.http, '--profile', 'local'];
  args.push('--data-dir', data, '--tag', `role=${a.role}`);
  if (join) args.push('--join', join);
  const log = openSync(`${data}/agent.log`, 'a');
  // Its own process group: Ctrl-C reaches only this script, which then stops each agent by PID.
  a.proc = spawn(process.execPath, args, { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  a.exited = new Promise((resolve) => a.proc.once('exit', resolve));
  a.stream?.abort();
  a.stream = undefined;
}

function logTail(a) {
  try {
    return readFileSync(`${dir}/${a.name}/agent.log`, 'utf8').trim().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

async function api(a, path, body) {
  const res = await fetch(`http://${a.http}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`${a.name} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Polls until `check()` is true; false after `ms`. Throws when the demo stops. */
async function until(check, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  return false;
}

const statusOf = async (name) =>
  (await api(watcher, '/v1/members')).members.find((m) => m.name === name)?.status;

// ---- narration: the watcher's member events, and user events arriving at every agent ----

/** Arrivals of each user event, by `name@lTime`. */
const arrivals = new Map();

/** Reads an agent's event stream (`GET /v1/events`) until it ends or the agent is restarted. */
function follow(a, onEvent) {
  const ctl = new AbortController();
  a.stream = ctl;
  const signal = AbortSignal.any([ctl.signal, stop.signal]);
  void (async () => {
    try {
      const res = await fetch(`http://${a.http}/v1/events`, { signal });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          end = buf.indexOf('\n\n');
          const type = /^event: ?(.*)$/m.exec(block)?.[1];
          const data = /^data: ?(.*)$/m.exec(block)?.[1];
          if (type && data) onEvent(type, JSON.parse(data));
        }
      }
    } catch {
      // the agent died or the demo is stopping
    }
  })();
}

function onWatcherEvent(type, d) {
  const m = d.member?.name;
  if (type === 'member-join') say(`${watcher.name} sees ${m} join (${d.member.addr})`);
  else if (type === 'member-suspect')
    say(`${watcher.name} suspects ${m}${d.from ? ` (accused by ${d.from})` : ''}`);
  else if (type === 'member-failed') say(`${watcher.name} declares ${m} failed`);
  else if (type === 'member-refute') say(`${watcher.name} sees ${m} refute the suspicion`);
  else if (type === 'member-leave') say(`${watcher.name} sees ${m} leave`);
}

function onUserEvent(a) {
  return (type, d) => {
    if (type !== 'user') return;
    const list = arrivals.get(`${d.name}@${d.lTime}`);
    if (list && !list.some((x) => x.name === a.name)) list.push({ name: a.name, at: Date.parse(d.at) });
  };
}

/** Sends a user event from `from` and reports which agents received it within 3 s, and when. */
async function userEvent(from, name, payload) {
  const sentAt = Date.now();
  const { lTime } = await api(from, '/v1/event', { name, payload, coalesce: false });
  const list = [];
  arrivals.set(`${name}@${lTime}`, list);
  say(`${from.name} sends user event "${name}" (payload "${payload}"); it spreads by gossip`);
  const live = agents.filter((a) => a.proc.exitCode === null && a.proc.signalCode === null).length;
  await until(() => list.length >= live, 3000);
  const got = list
    .sort((x, y) => x.at - y.at)
    .map((x) => `${x.name} +${Math.max(0, x.at - sentAt)} ms`)
    .join(', ');
  say(`  "${name}" reached ${list.length}/${live} agents: ${got}`);
}

// ---- the story ----

async function run() {
  say(`starting ${agents.map((a) => a.name).join(', ')} (each joins ${watcher.name})`);
  start(watcher);
  if (!(await until(() => api(watcher, '/v1/agent')))) throw new Error(`${watcher.name} did not start`);
  follow(watcher, (t, d) => {
    onWatcherEvent(t, d);
    onUserEvent(watcher)(t, d);
  });
  for (const a of agents.slice(1)) start(a, watcher.gossip);
  for (const a of agents.slice(1)) {
    if (!(await until(() => api(a, '/v1/agent')))) throw new Error(`${a.name} did not start`);
    follow(a, onUserEvent(a));
  }
  const converged = await until(async () => {
    const { members } = await api(watcher, '/v1/members');
    return members.length === NODES && members.every((m) => m.status === 'alive');
  });
  say(
    converged
      ? `converged: ${watcher.name} sees all ${NODES} members alive`
      : 'not converged yet; see the logs',
  );
  await sleep(2000);
  await userEvent(agents[1], 'deploy', 'v1.0.0');

  for (let round = 0; ; round++) {
    const victim = agents[2 + (round % (NODES - 2))];
    await sleep(4000);
    console.log('');
    say(
      `kill -9 ${victim.name} (pid ${victim.proc.pid}): it vanishes without a goodbye; the others must notice`,
    );
    const killedAt = Date.now();
    victim.proc.kill('SIGKILL');
    await victim.exited;
    if (await until(async () => (await statusOf(victim.name)) === 'failed')) {
      say(
        `  detected: ${((Date.now() - killedAt) / 1000).toFixed(1)} s from the crash to "failed" (profile local)`,
      );
    } else say(`  ${victim.name} not seen failed yet`);
    await userEvent(agents[1], 'deploy', `v1.${round + 1}.0`);
    await sleep(3000);
    say(`restarting ${victim.name} with no --join: its --data-dir snapshot names the members to rejoin`);
    const restartedAt = Date.now();
    start(victim);
    if (await until(async () => (await statusOf(victim.name)) === 'alive')) {
      say(`  ${victim.name} is back: alive again after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
      follow(victim, onUserEvent(victim));
    } else say(`  ${victim.name} has not rejoined yet; its log:\n${logTail(victim)}`);
    if (round === 0) say('(this repeats with the next node until Ctrl-C)');
  }
}

// ---- stopping ----

let stopping = false;
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  void (async () => {
    stop.abort();
    console.log('\nstopping the agents…');
    const running = agents.filter((a) => a.proc && a.proc.exitCode === null && a.proc.signalCode === null);
    for (const a of running) a.proc.kill('SIGTERM'); // a graceful leave
    const all = Promise.all(running.map((a) => a.exited));
    await Promise.race([all, sleep(5000, false)]);
    for (const a of running)
      if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
    await Promise.race([all, sleep(2000, false)]);
    rmSync(dir, { recursive: true, force: true });
    console.log(`stopped ${running.length} agents and removed ${dir}`);
    process.exit(code);
  })();
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('exit', () => {
  for (const a of agents)
    if (a.proc && a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
});

run().catch((e) => {
  if (stop.signal.aborted) return;
  console.error(`demo failed: ${e.message}`);
  for (const a of agents) if (a.proc) console.error(`--- ${a.name}\n${logTail(a)}`);
  shutdown(1);
});

// ---- helpers ----

/** Resolves after `ms`; rejects when the demo stops, unless `abortable` is false. */
function sleep(ms, abortable = true) {
  return delay(ms, undefined, abortable ? { signal: stop.signal } : {});
}

/** A port free on 127.0.0.1 (TCP, and UDP too when `udp`), outside Linux's ephemeral range. */
async function freePort(udp) {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const used = agents.some((a) => a.gossip.endsWith(`:${port}`) || a.http.endsWith(`:${port}`));
    if (!used && (await tcpFree(port)) && (!udp || (await udpFree(port)))) return port;
  }
  throw new Error('no free port found on 127.0.0.1');
}

function tcpFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function udpFree(port) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
