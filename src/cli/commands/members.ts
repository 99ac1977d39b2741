import { parseArgs } from 'node:util';
import type { MemberJson, SerfMemberStatus } from '../../api/types.ts';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

/** One member as `serf members -format=json` prints it (the HTTP API's type). */
export type { MemberJson };

/** serf's table: name, addr, status, tags (k=v,k=v), columns aligned. */
export function formatMembersTable(members: MemberJson[]): string {
  const rows = members.map((m) => [
    m.name,
    m.addr,
    m.status,
    Object.entries(m.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const command: Command = {
  help: `Usage: gossip members [--http IP:PORT] [--format json|table] [--status S] [--tag K=REGEX]... [--name REGEX]

Lists the members the agent knows. The JSON format is serf's:
  {"members":[{"name","addr":"IP:PORT","port","tags":{},"status","protocol":{"min","max","version"}}]}

Options:
  --http IP:PORT   the agent's HTTP API (default 127.0.0.1:7373, or $GOSSIP_HTTP)
  --token TOKEN    API token, if the agent requires one (or $GOSSIP_HTTP_TOKEN)
  --format F       table (default) or json
  --status S       only members with this status: alive, leaving, left, failed
  --tag K=REGEX    only members whose tag K matches REGEX (repeatable; all must match)
  --name REGEX     only members whose name matches REGEX`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...CLIENT_FLAGS,
        format: { type: 'string', default: 'table' },
        status: { type: 'string' },
        tag: { type: 'string', multiple: true },
        name: { type: 'string' },
      },
      strict: true,
    });
    if (values.format !== 'json' && values.format !== 'table') {
      throw new UsageError(`--format must be json or table; got "${values.format}"`);
    }
    for (const t of values.tag ?? []) {
      if (!t.includes('=')) throw new UsageError(`--tag must be KEY=REGEX; got "${t}"`);
    }
    const body = await clientFrom(values, io.env).members({
      // The agent checks the status and answers with a message naming the valid ones.
      ...(values.status ? { status: values.status as SerfMemberStatus } : {}),
      ...(values.name ? { name: values.name } : {}),
      ...(values.tag ? { tag: values.tag } : {}),
    });
    if (values.format === 'json') io.stdout(`${JSON.stringify({ members: body.members }, null, 2)}\n`);
    else io.stdout(body.members.length > 0 ? `${formatMembersTable(body.members)}\n` : '');
    return 0;
  },
};
