import { parseArgs } from 'node:util';
import { Keyring } from '../../wire/crypto.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip keygen

Prints 32 random bytes, base64-encoded: an AES-256 key for --encrypt (serf agents take it too).`,
  async run(args, io) {
    parseArgs({ args, options: {}, strict: true }); // no flags, no arguments
    io.stdout(`${Buffer.from(Keyring.generateKey()).toString('base64')}\n`);
    return 0;
  },
};
