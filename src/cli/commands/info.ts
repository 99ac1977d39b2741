import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

function print(io: { stdout: (t: string) => void }, obj: Record<string, unknown>, indent = ''): void {
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      io.stdout(`${indent}${k}:\n`);
      print(io, v as Record<string, unknown>, `${indent}\t`);
    } else {
      io.stdout(`${indent}${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
    }
  }
}

export const command: Command = {
  help: `Usage: gossip info [--http IP:PORT] [--format text|json]

Prints the agent's name, runtime, Serf counters (members, failed, left, clocks, queues,
health score, encryption) and tags.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { ...CLIENT_FLAGS, format: { type: 'string', default: 'text' } },
      strict: true,
    });
    if (values.format !== 'json' && values.format !== 'text')
      throw new UsageError('--format must be json or text');
    const info = await clientFrom(values, io.env).info();
    if (values.format === 'json') io.stdout(`${JSON.stringify(info, null, 2)}\n`);
    else print(io, info as unknown as Record<string, unknown>);
    return 0;
  },
};
