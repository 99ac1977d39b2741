import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip leave [--http IP:PORT] [--token TOKEN]

Asks the agent to leave the cluster gracefully (the others see it as "left", not "failed"),
then to shut down. Returns when the leave has been broadcast.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...CLIENT_FLAGS }, strict: true });
    await clientFrom(values, io.env).leave();
    io.stdout('Graceful leave complete\n');
    return 0;
  },
};
