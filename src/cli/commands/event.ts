import { parseArgs } from 'node:util';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip event [--http IP:PORT] [--coalesce=false] NAME [PAYLOAD]

Gossips a user event to every member. Handlers on each node get it (SERF_EVENT=user,
SERF_USER_EVENT=NAME, payload on stdin), serf agents' handlers included.

Options:
  --http IP:PORT      the agent's HTTP API (default 127.0.0.1:7373, or $GOSSIP_HTTP)
  --token TOKEN       API token, if the agent requires one (or $GOSSIP_HTTP_TOKEN)
  --coalesce=false    ask receivers not to coalesce this event with newer ones of the same name

Name and payload together are limited to 512 bytes by default (Serf's limit).`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...CLIENT_FLAGS, coalesce: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [name, payload, ...extra] = positionals;
    if (!name) throw new UsageError('an event NAME is required');
    if (extra.length > 0)
      throw new UsageError('too many arguments: give NAME and at most one PAYLOAD (quote it)');
    let coalesce = true;
    if (values.coalesce !== undefined) {
      if (values.coalesce !== 'true' && values.coalesce !== 'false')
        throw new UsageError('--coalesce must be true or false');
      coalesce = values.coalesce === 'true';
    }
    await clientFrom(values, io.env).event(name, payload ?? '', { coalesce });
    io.stdout(`Event '${name}' dispatched! Coalescing enabled: ${coalesce}\n`);
    return 0;
  },
};
