import { parseArgs } from 'node:util';
import type { KvWatchEvent, ValueJson } from '../../api/types.ts';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, type CommandIo, UsageError } from '../command.ts';

const HELP = `Usage: gossip kv <set|get|del|list|watch> [options]

The replicated state: each node owns a map of keys to values, and every gossip node of the
cluster holds every node's map (eventually consistent; serf agents in the cluster take no part).

  gossip kv set KEY VALUE [--ttl D] [--ephemeral]   write KEY in this agent's map
  gossip kv get KEY [--node NAME]                   print the value (of NAME's map); exit 1 when absent
  gossip kv del KEY                                 delete KEY from this agent's map; exit 1 when absent
  gossip kv list [--node N] [--prefix P] [--format text|json]
                                                    every key, by node; json: {"nodes":{"NAME":{"KEY":{"value":"...","version":N}}}}
  gossip kv watch [--node N] [--prefix P] [--format text|json] [--since TOKEN]
                                                    the current keys, then every change, until interrupted;
                                                    --since TOKEN (the last id seen, printed on exit) resumes
                                                    with only the changes after it (a snapshot when too old)

Options of every subcommand: --http IP:PORT (or $GOSSIP_HTTP), --token TOKEN (or $GOSSIP_HTTP_TOKEN).
  --ttl D        time to live, a duration (30s, 5m, 1h): the key is deleted everywhere when it runs out
  --ephemeral    the key disappears everywhere when this agent leaves or fails, and is not kept across a restart
Values are UTF-8 text on the command line; binary values print as raw bytes (get) or base64 (list, watch).
Limits (the agent's): a value up to 64 KiB, 4096 keys and 1 MiB per node by default.`;

function text(v: ValueJson): string {
  return v.value !== undefined ? v.value : `base64:${v.valueBase64}`;
}

function describe(e: KvWatchEvent): string {
  switch (e.event) {
    case 'set':
      return `set ${e.data.node} ${e.data.key}=${text(e.data)} (version ${e.data.version}${e.data.snapshot ? ', snapshot' : ''})`;
    case 'delete':
      return `delete ${e.data.node} ${e.data.key} (${e.data.cause}, version ${e.data.version})`;
    case 'ready':
      return `ready (resume token ${e.data.token})`;
  }
}

function positionals(args: string[], n: number, usage: string): string[] {
  if (args.length !== n) throw new UsageError(`expected ${usage}`);
  return args;
}

async function run(sub: string | undefined, args: string[], io: CommandIo): Promise<number> {
  if (sub?.startsWith('-')) throw new UsageError(`Unknown option '${sub}' (the subcommand comes first)`);
  switch (sub) {
    case 'set': {
      const { values, positionals: pos } = parseArgs({
        args,
        options: { ...CLIENT_FLAGS, ttl: { type: 'string' }, ephemeral: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
      const [key, value] = positionals(pos, 2, 'KEY VALUE');
      await clientFrom(values, io.env).kvSet(key!, value!, {
        ...(values.ttl !== undefined ? { ttl: values.ttl } : {}),
        ephemeral: values.ephemeral === true,
      });
      return 0;
    }
    case 'get': {
      const { values, positionals: pos } = parseArgs({
        args,
        options: { ...CLIENT_FLAGS, node: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      const [key] = positionals(pos, 1, 'KEY');
      const e = await clientFrom(values, io.env).kvGet(
        key!,
        values.node !== undefined ? { node: values.node } : {},
      );
      if (e === undefined) return 1;
      if (e.value !== undefined) io.stdout(e.value);
      else if (io.stdoutBytes) io.stdoutBytes(new Uint8Array(Buffer.from(e.valueBase64, 'base64')));
      else io.stdout(Buffer.from(e.valueBase64, 'base64').toString('latin1'));
      return 0;
    }
    case 'del': {
      const { values, positionals: pos } = parseArgs({
        args,
        options: { ...CLIENT_FLAGS },
        allowPositionals: true,
        strict: true,
      });
      const [key] = positionals(pos, 1, 'KEY');
      return (await clientFrom(values, io.env).kvDelete(key!)) === undefined ? 1 : 0;
    }
    case 'list': {
      const { values, positionals: pos } = parseArgs({
        args,
        options: {
          ...CLIENT_FLAGS,
          node: { type: 'string' },
          prefix: { type: 'string' },
          format: { type: 'string', default: 'text' },
        },
        allowPositionals: true,
        strict: true,
      });
      positionals(pos, 0, 'no arguments (filters are --node and --prefix)');
      if (values.format !== 'text' && values.format !== 'json')
        throw new UsageError('--format must be text or json');
      const list = await clientFrom(values, io.env).kvList({
        ...(values.node !== undefined ? { node: values.node } : {}),
        ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
      });
      if (values.format === 'json') {
        io.stdout(`${JSON.stringify(list)}\n`);
        return 0;
      }
      for (const [node, keys] of Object.entries(list.nodes)) {
        for (const [key, item] of Object.entries(keys))
          io.stdout(`${node}\t${key}\t${text(item)}\t(version ${item.version})\n`);
      }
      return 0;
    }
    case 'watch': {
      const { values, positionals: pos } = parseArgs({
        args,
        options: {
          ...CLIENT_FLAGS,
          node: { type: 'string' },
          prefix: { type: 'string' },
          since: { type: 'string' },
          format: { type: 'string', default: 'text' },
        },
        allowPositionals: true,
        strict: true,
      });
      positionals(pos, 0, 'no arguments (filters are --node and --prefix)');
      if (values.format !== 'text' && values.format !== 'json')
        throw new UsageError('--format must be text or json');
      const abort = new AbortController();
      const stop = () => abort.abort();
      let last: string | undefined = values.since;
      process.once('SIGINT', stop);
      try {
        const events = clientFrom(values, io.env).kvWatch({
          signal: abort.signal,
          ...(values.node !== undefined ? { node: values.node } : {}),
          ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
          ...(values.since !== undefined ? { since: values.since } : {}),
        });
        for await (const e of events) {
          if (e.id !== undefined) last = e.id;
          io.stdout(values.format === 'json' ? `${JSON.stringify(e)}\n` : `${describe(e)}\n`);
        }
      } catch (e) {
        if (!abort.signal.aborted) throw e;
      } finally {
        process.off('SIGINT', stop);
        if (last !== undefined) io.stderr(`to resume from here: gossip kv watch --since ${last}\n`);
      }
      return 0;
    }
    case undefined:
      throw new UsageError('expected a subcommand: set, get, del, list or watch');
    default:
      throw new UsageError(`unknown subcommand "${sub}": expected set, get, del, list or watch`);
  }
}

export const command: Command = {
  help: HELP,
  run: ([sub, ...rest], io) => run(sub, rest, io),
};
