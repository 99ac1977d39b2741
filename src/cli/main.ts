/**
 * `gossip` command-line entry point: a table of subcommands, each loaded on demand.
 */

import { GossipError } from '../errors.ts';
import type { Command, CommandIo } from './command.ts';
import { UsageError } from './command.ts';

/**
 * Every subcommand: its one-line summary (for `gossip --help`) and how to load it. Only the
 * command that runs is loaded, so `gossip members` or `gossip version` never loads the agent,
 * the HTTP server, metrics, the simulator or the dashboard code (test/cli pins this).
 */
const commands: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  agent: {
    summary: 'Run a gossip node with its HTTP API and dashboard',
    load: () => import('./commands/agent.ts'),
  },
  version: {
    summary: 'Print the version and the protocol versions spoken',
    load: () => import('./commands/version.ts'),
  },
  members: {
    summary: 'List the members of the cluster, as the agent sees them',
    load: () => import('./commands/members.ts'),
  },
  leave: {
    summary: 'Make the agent leave the cluster gracefully, then exit',
    load: () => import('./commands/leave.ts'),
  },
  join: {
    summary: 'Tell the agent to join a cluster through one or more members',
    load: () => import('./commands/join.ts'),
  },
  event: { summary: 'Send a user event to the cluster', load: () => import('./commands/event.ts') },
  query: {
    summary: 'Ask the cluster a question and print the answers',
    load: () => import('./commands/query.ts'),
  },
  keys: {
    summary: 'Install, use, remove or list gossip encryption keys across the cluster',
    load: () => import('./commands/keys.ts'),
  },
  tags: { summary: "Change this agent's tags at run time", load: () => import('./commands/tags.ts') },
  kv: {
    summary: 'Read, write and watch the replicated key/value state of the cluster',
    load: () => import('./commands/kv.ts'),
  },
  monitor: { summary: "Stream the agent's logs", load: () => import('./commands/monitor.ts') },
  info: {
    summary: 'Show information about the agent (like serf info)',
    load: () => import('./commands/info.ts'),
  },
  rtt: {
    summary: 'Estimate the round-trip time between two members from network coordinates',
    load: () => import('./commands/rtt.ts'),
  },
  doctor: {
    summary: "Check a node's set-up: seeds, advertise address, reachability, key, label",
    load: () => import('./commands/doctor.ts'),
  },
  keygen: { summary: 'Print a new random gossip encryption key', load: () => import('./commands/keygen.ts') },
  sim: {
    summary: 'Simulate broadcast strategies at scale, or the whole protocol stack under seeded faults',
    load: () => import('./commands/sim.ts'),
  },
};

/** The subcommands' names, in `gossip --help` order. */
export const COMMAND_NAMES: readonly string[] = Object.keys(commands);

/**
 * The commands left out of the one-file client bundle (dist/cli/main.bundle.cjs, made by
 * scripts/build.mjs), because they load the agent, the protocol layers or the simulator:
 * bin/gossip.js runs them from the bundle of the whole CLI (dist/cli/agent.bundle.cjs) instead.
 * Every other command runs from the client bundle, which holds only what they need (test/cli
 * pins it). They run with that bundle's own copy of `main()`, not the client bundle's: an error
 * class such as `GossipError` must be the same copy in the command as in the `instanceof` below.
 */
export const LOADED_APART: readonly string[] = ['agent', 'doctor', 'sim'];

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stdoutBytes: (b) => process.stdout.write(b),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

function usage(): string {
  const lines = ['Usage: gossip <command> [options]', '', 'Commands:'];
  for (const [name, { summary }] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push('', 'Run `gossip <command> --help` for the options of a command.', '');
  return lines.join('\n');
}

/** Runs the CLI with `argv` (without node and script). Resolves to the exit code. */
export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return main(['version'], io);
  const entry = commands[name];
  if (entry === undefined) {
    io.stderr(`gossip: unknown command "${name}". Run \`gossip --help\` to list the commands.\n`);
    return 2;
  }
  const { command } = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      // A wrong flag or argument: say what, then the command's usage, and exit 2.
      const help = command.help.endsWith('\n') ? command.help : `${command.help}\n`;
      io.stderr(`gossip ${name}: ${(e as Error).message}\n\n${help}`);
      return 2;
    }
    if (e instanceof GossipError) {
      io.stderr(`gossip ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
