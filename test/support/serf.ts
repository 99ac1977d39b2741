/**
 * Real `serf agent` processes for interop tests: started on loopback with free ports, driven
 * through the `serf` CLI (`members`, `event`, `query`, `keys`, ...), and killed by PID when the
 * test ends, also on failure. Their logs are kept for assertion messages.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MemberJson } from '../../src/api/types.ts';

/** True when the `serf` binary is installed (CI installs the Debian package). */
export function serfAvailable(): boolean {
  return spawnSync('serf', ['version'], { encoding: 'utf8' }).status === 0;
}

/**
 * A TCP+UDP port free on 127.0.0.1 right now. Ports come from a range outside Linux's ephemeral
 * range, so an outgoing connection cannot take them between this check and the agent's bind.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if ((await tcpFree(host, port)) && (await udpFree(host, port))) return port;
  }
  throw new Error('no free port found');
}

function tcpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

export interface SerfAgentOptions {
  node: string;
  /** Bind host. @default 127.0.0.1 */
  host?: string;
  encrypt?: string;
  tags?: Record<string, string>;
  join?: string[];
  /** Handler specs as serf takes them; `{dir}` is replaced by the agent's own temporary directory. */
  eventHandlers?: string[];
  profile?: 'lan' | 'wan' | 'local';
  snapshot?: string;
  keyringFile?: string;
  extraArgs?: string[];
}

/** A running `serf agent`. */
export class SerfAgent {
  readonly node: string;
  readonly host: string;
  readonly port: number;
  readonly rpcPort: number;
  readonly dir: string;
  #proc: ChildProcess | undefined;
  #log = '';
  #exited: Promise<number | null> | undefined;

  private constructor(node: string, host: string, port: number, rpcPort: number) {
    this.node = node;
    this.host = host;
    this.port = port;
    this.rpcPort = rpcPort;
    this.dir = mkdtempSync(join(tmpdir(), `serf-${node}-`));
  }

  /** `host:port` of the gossip listener (IPv6 bracketed). */
  get addr(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  get rpcAddr(): string {
    return `127.0.0.1:${this.rpcPort}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Everything the agent has logged so far. */
  get log(): string {
    return this.#log;
  }

  /** Starts an agent and waits until its RPC answers. */
  static async start(options: SerfAgentOptions): Promise<SerfAgent> {
    const host = options.host ?? '127.0.0.1';
    // Tests run two files at once, each starting agents: a port found free can be taken before
    // the agent binds it. Retry with fresh ports when that happens.
    for (let attempt = 1; ; attempt++) {
      const agent = new SerfAgent(options.node, host, await freePort(host), await freePort());
      try {
        await agent.#spawn(options);
        return agent;
      } catch (e) {
        await agent.stop();
        if (attempt >= 5 || !/address already in use/.test(String(e))) throw e;
      }
    }
  }

  async #spawn(options: SerfAgentOptions): Promise<void> {
    const args = [
      'agent',
      `-node=${this.node}`,
      `-bind=${this.addr}`,
      `-rpc-addr=${this.rpcAddr}`,
      '-log-level=debug',
    ];
    if (options.encrypt) args.push(`-encrypt=${options.encrypt}`);
    if (options.profile) args.push(`-profile=${options.profile}`);
    if (options.snapshot) args.push(`-snapshot=${options.snapshot}`);
    if (options.keyringFile) args.push(`-keyring-file=${options.keyringFile}`);
    for (const [k, v] of Object.entries(options.tags ?? {})) args.push('-tag', `${k}=${v}`);
    for (const j of options.join ?? []) args.push(`-join=${j}`);
    for (const h of options.eventHandlers ?? [])
      args.push(`-event-handler=${h.replaceAll('{dir}', this.dir)}`);
    args.push(...(options.extraArgs ?? []));
    const proc = spawn('serf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      this.#log += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.#log += d.toString();
    });
    this.#exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`serf agent ${this.node} exited early:\n${this.#log}`);
      try {
        await this.cli(['members']);
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`serf agent ${this.node} did not start:\n${this.#log}`);
  }

  /** Runs `serf <args> -rpc-addr=...` and resolves to its stdout. */
  cli(args: string[], timeoutMs = 10_000): Promise<string> {
    const [cmd, ...rest] = args;
    return new Promise((resolve, reject) => {
      execFile(
        'serf',
        [cmd!, `-rpc-addr=${this.rpcAddr}`, ...rest],
        { timeout: timeoutMs, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`serf ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** `serf members -format=json`. */
  async members(): Promise<MemberJson[]> {
    const out = JSON.parse(await this.cli(['members', '-format=json'])) as { members: MemberJson[] };
    return out.members;
  }

  /** Status of `name` as this agent sees it, or undefined. */
  async statusOf(name: string): Promise<string | undefined> {
    return (await this.members()).find((m) => m.name === name)?.status;
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (this.#proc && this.#proc.exitCode === null) {
      this.#proc.kill('SIGKILL');
      await this.#exited;
    }
  }

  /** SIGINT: the agent leaves gracefully. */
  async interrupt(timeoutMs = 15_000): Promise<void> {
    if (!this.#proc || this.#proc.exitCode !== null) return;
    this.#proc.kill('SIGINT');
    const t = setTimeout(() => this.#proc?.kill('SIGKILL'), timeoutMs);
    await this.#exited;
    clearTimeout(t);
  }

  /** Stops the agent (if still running) and removes its directory. Safe to call twice. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; returns the value or throws. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}
