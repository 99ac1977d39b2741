import { parseArgs } from 'node:util';
import { parseDurationMs } from '../../agent/duration.ts';
import type { QueryOptions } from '../../api/client.ts';
import type { QueryLine } from '../../api/types.ts';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

/** Parses Go-style durations ("500ms", "3s", "1m", "1m30s") into milliseconds. */
export function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new UsageError(`"${text}" is not a duration; use e.g. 500ms, 3s, 1m`);
  return ms;
}

export const command: Command = {
  help: `Usage: gossip query [--http IP:PORT] [--format json] [--timeout DURATION] [--node NAME]...
                    [--tag K=REGEX]... [--no-ack] [--relay-factor N] NAME [PAYLOAD]

Gossips a query; matching nodes acknowledge it and their query handlers answer. Prints acks
and responses as they arrive (serf's format), or with --format json serf's JSON:
  {"Acks":[...],"Responses":{"node":"..."}}

Options:
  --timeout DURATION   how long to collect answers (default: Serf's, from the cluster size)
  --node NAME          only this node answers (repeatable)
  --tag K=REGEX        only nodes whose tag K matches (repeatable)
  --no-ack             do not ask for acknowledgements
  --relay-factor N     also relay each answer through N other members (0-5)`,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...CLIENT_FLAGS,
        format: { type: 'string', default: 'text' },
        timeout: { type: 'string' },
        node: { type: 'string', multiple: true },
        tag: { type: 'string', multiple: true },
        'no-ack': { type: 'boolean' },
        'relay-factor': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const [name, payload, ...extra] = positionals;
    if (!name) throw new UsageError('a query NAME is required');
    if (extra.length > 0)
      throw new UsageError('too many arguments: give NAME and at most one PAYLOAD (quote it)');
    if (values.format !== 'json' && values.format !== 'text')
      throw new UsageError('--format must be json or text');
    const filterTags: Record<string, string> = {};
    for (const t of values.tag ?? []) {
      const eq = t.indexOf('=');
      if (eq <= 0) throw new UsageError(`--tag must be KEY=REGEX; got "${t}"`);
      filterTags[t.slice(0, eq)] = t.slice(eq + 1);
    }
    const relayFactor = values['relay-factor'] === undefined ? 0 : Number(values['relay-factor']);
    if (!Number.isInteger(relayFactor) || relayFactor < 0 || relayFactor > 5) {
      throw new UsageError('--relay-factor must be a whole number from 0 to 5');
    }
    const options: QueryOptions = {
      filterNodes: values.node ?? [],
      filterTags,
      requestAck: !values['no-ack'],
      relayFactor,
      ...(values.timeout ? { timeoutMs: parseDuration(values.timeout) } : {}),
    };
    const client = clientFrom(values, io.env);
    const acks: string[] = [];
    const responses: Record<string, string> = {};
    const json = values.format === 'json';
    if (!json) io.stdout(`Query '${name}' dispatched\n`);
    let done: Extract<QueryLine, { type: 'done' }> | undefined;
    for await (const r of client.query(name, payload ?? '', options)) {
      if (r.type === 'ack') {
        acks.push(r.from);
        if (!json) io.stdout(`Ack from '${r.from}'\n`);
      } else if (r.type === 'response') {
        responses[r.from] = r.payload;
        if (!json) io.stdout(`Response from '${r.from}': ${r.payload}\n`);
      } else {
        done = r;
      }
    }
    if (json) io.stdout(`${JSON.stringify({ Acks: acks, Responses: responses }, null, 2)}\n`);
    else
      io.stdout(
        `Total Acks: ${done?.acks ?? acks.length}\nTotal Responses: ${done?.responses ?? Object.keys(responses).length}\n`,
      );
    return 0;
  },
};
