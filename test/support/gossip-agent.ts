/**
 * Real `gossip agent` processes for end-to-end tests: started through `bin/gossip.js` on free
 * loopback ports, driven through the HTTP API and the CLI, killed by PID (also on failure).
 *
 * `bin/gossip.js` runs the compiled code in `dist/`; `npm test` builds it first. A test file run
 * on its own (`node --import tsx --test FILE`) gets a clear error from {@link builtBin} when the
 * build is older than `src/` rather than silently testing stale code.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemberJson } from '../../src/api/types.ts';
import { freePort, sleep } from './serf.ts';

const BIN = fileURLToPath(new URL('../../bin/gossip.js', import.meta.url));
const BUILD = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
let checked = false;

/** Path of `bin/gossip.js`, once `scripts/build.mjs --check` said `dist/` is up to date. */
export function builtBin(): string {
  if (!checked) {
    const r = spawnSync(process.execPath, [BUILD, '--check'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr.trim() || `scripts/build.mjs --check: exit ${r.status}`);
    checked = true;
  }
  return BIN;
}

export interface GossipAgentOptions {
  node: string;
  encrypt?: string;
  tags?: Record<string, string>;
  join?: string[];
  profile?: 'lan' | 'wan' | 'local';
  dataDir?: string;
  eventHandlers?: string[];
  httpToken?: string;
  extraArgs?: string[];
  /** Bind the gossip port to this one (for restarts on the same address). */
  port?: number;
  env?: NodeJS.ProcessEnv;
}

/** One member as `serf members -format=json` (and our API) print it. */
export type { MemberJson };

export class GossipAgent {
  readonly node: string;
  readonly port: number;
  httpAddr = '';
  readonly dir: string;
  #proc: ChildProcess | undefined;
  #log = '';
  #exited: Promise<number | null> | undefined;
  #token: string | undefined;

  private constructor(node: string, port: number, dir: string) {
    this.node = node;
    this.port = port;
    this.dir = dir;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.#log;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  get exitCode(): number | null | undefined {
    return this.#proc?.exitCode;
  }

  /** Starts an agent and waits for its banner (HTTP up). */
  static async start(options: GossipAgentOptions, dir?: string): Promise<GossipAgent> {
    const port = options.port ?? (await freePort());
    const a = new GossipAgent(
      options.node,
      port,
      dir ?? mkdtempSync(join(tmpdir(), `gossip-${options.node}-`)),
    );
    await a.#spawn(options);
    return a;
  }

  async #spawn(o: GossipAgentOptions): Promise<void> {
    this.#token = o.httpToken;
    const args = [
      builtBin(),
      'agent',
      '--node',
      o.node,
      '--bind',
      this.addr,
      '--http',
      '127.0.0.1:0',
      '--log-level',
      'debug',
    ];
    if (o.encrypt) args.push('--encrypt', o.encrypt);
    if (o.profile) args.push('--profile', o.profile);
    if (o.dataDir) args.push('--data-dir', o.dataDir.replaceAll('{dir}', this.dir));
    if (o.httpToken) args.push('--http-token', o.httpToken);
    for (const [k, v] of Object.entries(o.tags ?? {})) args.push('--tag', `${k}=${v}`);
    for (const j of o.join ?? []) args.push('--join', j);
    for (const h of o.eventHandlers ?? []) args.push('--event-handler', h.replaceAll('{dir}', this.dir));
    args.push(...(o.extraArgs ?? []));
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...o.env },
    });
    this.#proc = proc;
    const onData = (d: Buffer) => {
      this.#log += d.toString();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.#exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const m = /dashboard:\s+http:\/\/([^/\s]+)\//.exec(this.#log);
      if (m) {
        this.httpAddr = m[1]!;
        return;
      }
      if (proc.exitCode !== null)
        throw new Error(`gossip agent ${this.node} exited (${proc.exitCode}):\n${this.#log}`);
      await sleep(50);
    }
    throw new Error(`gossip agent ${this.node} did not start:\n${this.#log}`);
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    return fetch(`http://${this.httpAddr}${path}`, { ...init, headers, signal: AbortSignal.timeout(15_000) });
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.#fetch(path);
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.#fetch(path, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async members(): Promise<MemberJson[]> {
    return (await this.get<{ members: MemberJson[] }>('/v1/members')).members;
  }

  async statusOf(name: string): Promise<string | undefined> {
    return (await this.members()).find((m) => m.name === name)?.status;
  }

  /** Runs `gossip <args> --http <this agent>` and resolves to stdout (rejects on a non-zero exit). */
  cli(args: string[]): Promise<string> {
    const [cmd, ...rest] = args;
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [builtBin(), cmd!, '--http', this.httpAddr, ...rest],
        {
          timeout: 30_000,
          encoding: 'utf8',
          env: { ...process.env, ...(this.#token ? { GOSSIP_HTTP_TOKEN: this.#token } : {}) },
        },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`gossip ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`))
            : resolve(stdout),
      );
    });
  }

  /** Waits for the process to exit (e.g. after `gossip leave`); resolves to its exit code. */
  async waitExit(timeoutMs = 20_000): Promise<number | null> {
    const t = setTimeout(() => this.#proc?.kill('SIGKILL'), timeoutMs);
    const code = await this.#exited;
    clearTimeout(t);
    return code ?? null;
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (this.#proc && this.#proc.exitCode === null && this.#proc.signalCode === null) {
      this.#proc.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** Sends a signal (SIGTERM/SIGINT leave gracefully) and waits for the exit. */
  async signal(sig: NodeJS.Signals, timeoutMs = 20_000): Promise<number | null> {
    if (!this.#proc || this.#proc.exitCode !== null) return this.#proc?.exitCode ?? null;
    this.#proc.kill(sig);
    return this.waitExit(timeoutMs);
  }

  /** Kills (if running) and removes the directory. Safe to call twice. */
  async stop(keepDir = false): Promise<void> {
    await this.kill();
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
