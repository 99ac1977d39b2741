import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip tags [--http IP:PORT] [--set K=V]... [--delete K]...

Sets and deletes tags on the agent; the change is gossiped to every member at once (tags are
limited to 512 bytes in total, encoded).`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...CLIENT_FLAGS,
        set: { type: 'string', multiple: true },
        delete: { type: 'string', multiple: true },
      },
      strict: true,
    });
    const set: Record<string, string> = {};
    for (const s of values.set ?? []) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError(`--set must be KEY=VALUE; got "${s}"`);
      set[s.slice(0, eq)] = s.slice(eq + 1);
    }
    const del = values.delete ?? [];
    if (Object.keys(set).length === 0 && del.length === 0)
      throw new UsageError('give at least one --set K=V or --delete K');
    await clientFrom(values, io.env).setTags({ set, delete: del });
    io.stdout('Successfully updated agent tags\n');
    return 0;
  },
};
