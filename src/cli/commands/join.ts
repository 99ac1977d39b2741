import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip join [--http IP:PORT] [--replay] ADDRESS...

Joins through each ADDRESS, once: IP:PORT, HOST:PORT (every A and AAAA record) or
dns+srv://NAME (SRV records); the port is 7946 by default. Succeeds if one answers.
--replay also delivers user events sent before the join. (The agent's own --join seeds are
resolved again for as long as it runs; this command is a one-off.)`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...CLIENT_FLAGS, replay: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('give at least one ADDRESS to join');
    const r = await clientFrom(values, io.env).join(positionals, { replay: values.replay === true });
    io.stdout(`Successfully joined cluster by contacting ${r.joined} nodes.\n`);
    return 0;
  },
};
