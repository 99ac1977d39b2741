/**
 * `gossip` command-line entry point: a table of subcommands, each loaded on demand.
 */

import { GossipError } from '../errors.ts';
import type { Command, CommandIo } from './command.ts';
import { UsageError } from './command.ts';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  agent: () => import('./commands/agent.ts'),
  version: () => import('./commands/version.ts'),
  members: () => import('./commands/members.ts'),
  leave: () => import('./commands/leave.ts'),
  join: () => import('./commands/join.ts'),
  event: () => import('./commands/event.ts'),
  query: () => import('./commands/query.ts'),
  keys: () => import('./commands/keys.ts'),
  tags: () => import('./commands/tags.ts'),
  monitor: () => import('./commands/monitor.ts'),
  info: () => import('./commands/info.ts'),
  rtt: () => import('./commands/rtt.ts'),
  keygen: () => import('./commands/keygen.ts'),
  sim: () => import('./commands/sim.ts'),
};

const defaultIo: CommandIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

async function usage(io: CommandIo): Promise<string> {
  const lines = ['Usage: gossip <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    const { command } = await load();
    lines.push(`  ${name.padEnd(10)} ${command.summary}`);
  }
  lines.push('', 'Run `gossip <command> --help` for the options of a command.', '');
  void io;
  return lines.join('\n');
}

/** Runs the CLI with `argv` (without node and script). Resolves to the exit code. */
export async function main(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(await usage(io));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return main(['version'], io);
  const load = commands[name];
  if (load === undefined) {
    io.stderr(`gossip: unknown command "${name}". Run \`gossip --help\` to list the commands.\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`gossip ${name}: ${(e as Error).message}\nRun \`gossip ${name} --help\` for usage.\n`);
      return 2;
    }
    if (e instanceof GossipError) {
      io.stderr(`gossip ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
