import { parseArgs } from 'node:util';
import { PACKAGE_VERSION, PROTOCOL_SUMMARY } from '../../version.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  help: 'Usage: gossip version\n\nPrints the gossip version and the memberlist/Serf protocol ranges it speaks.',
  async run(args, io) {
    parseArgs({ args, options: {}, strict: true }); // no flags, no arguments
    io.stdout(`gossip v${PACKAGE_VERSION}\n${PROTOCOL_SUMMARY}\n`);
    return 0;
  },
};
