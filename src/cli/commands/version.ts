import { readFileSync } from 'node:fs';
import { PROTOCOL_SUMMARY } from '../../version.ts';
import type { Command } from '../command.ts';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const command: Command = {
  summary: 'Print the version and the protocol versions spoken',
  help: 'Usage: gossip version\n\nPrints the gossip version and the memberlist/Serf protocol ranges it speaks.',
  async run(_args, io) {
    io.stdout(`gossip v${pkg.version}\n${PROTOCOL_SUMMARY}\n`);
    return 0;
  },
};
