import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip rtt [--http IP:PORT] NODE [NODE]

Prints the RTT between NODE and the second NODE (default: the agent's own node), estimated
from Vivaldi network coordinates learned from probe acks, as \`serf rtt\` does. Serf agents and
gossip agents exchange coordinates, so either side can estimate RTTs to the other.`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...CLIENT_FLAGS },
      allowPositionals: true,
      strict: true,
    });
    const [a, b, ...extra] = positionals;
    if (!a || extra.length > 0) throw new UsageError('give one or two node names');
    const r = await clientFrom(values, io.env).rtt(a, b);
    io.stdout(`Estimated ${r.a} <-> ${r.b} rtt: ${r.rttMs.toFixed(3)} ms (using LAN coordinates)\n`);
    return 0;
  },
};
