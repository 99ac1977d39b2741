import { parseArgs } from 'node:util';
import type { KeysResponse } from '../../api/types.ts';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip keys [--http IP:PORT] --install KEY | --use KEY | --remove KEY | --list

Rotates the cluster's gossip keys without downtime, on every member (serf agents included):
  1. --install NEWKEY   every node can now decrypt with it
  2. --use NEWKEY       every node encrypts with it
  3. --remove OLDKEY    the old key is gone
--list shows each installed key and how many nodes hold it.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...CLIENT_FLAGS,
        install: { type: 'string' },
        use: { type: 'string' },
        remove: { type: 'string' },
        list: { type: 'boolean' },
      },
      strict: true,
    });
    const ops = [
      values.install && 'install',
      values.use && 'use',
      values.remove && 'remove',
      values.list && 'list',
    ].filter(Boolean);
    if (ops.length !== 1)
      throw new UsageError('give exactly one of --install KEY, --use KEY, --remove KEY, --list');
    const client = clientFrom(values, io.env);
    const op = ops[0] as 'install' | 'use' | 'remove' | 'list';
    const verb = {
      install: 'Installing',
      use: 'Changing primary key to',
      remove: 'Removing',
      list: 'Gathering installed encryption keys',
    }[op];
    let r: KeysResponse;
    if (op === 'list') {
      io.stdout(`${verb}...\n`);
      r = await client.keys();
    } else {
      const key = values[op]!;
      io.stdout(`${verb} key...\n`);
      r = await client.keyOp(op, key);
    }
    for (const [node, msg] of Object.entries(r.messages)) io.stderr(`  ${node}: ${msg}\n`);
    if (r.numErr > 0 || r.error) {
      io.stderr(`Error: ${r.error ?? `${r.numErr}/${r.numNodes} nodes reported failure`}\n`);
      return 1;
    }
    if (op === 'list') {
      io.stdout(`Keys gathered, listing them:\n`);
      const width = Math.max(0, ...Object.keys(r.keys ?? {}).map((k) => k.length));
      for (const [k, n] of Object.entries(r.keys ?? {}))
        io.stdout(`${k.padEnd(width)}  [${n}/${r.numNodes}]\n`);
      for (const [k, n] of Object.entries(r.primaryKeys ?? {}))
        io.stdout(`primary: ${k} [${n}/${r.numNodes}]\n`);
    } else {
      io.stdout(
        `Successfully ${op === 'use' ? 'changed the primary key' : `${op === 'install' ? 'installed' : 'removed'} key`} on ${r.numResp}/${r.numNodes} nodes\n`,
      );
    }
    return 0;
  },
};
