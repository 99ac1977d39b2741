import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip join [--http IP:PORT] [--replay] ADDRESS...

Joins through each ADDRESS (host[:port], port 7946 by default); succeeds if one answers.
--replay also delivers user events sent before the join.`,
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
