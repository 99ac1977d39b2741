import { parseArgs } from 'node:util';
import { formatPretty } from '../../agent/log-format.ts';
import type { LogLevel } from '../../api/types.ts';
import { CLIENT_FLAGS, clientFrom } from '../client.ts';
import { type Command, UsageError } from '../command.ts';

export const command: Command = {
  help: `Usage: gossip monitor [--http IP:PORT] [--log-level debug|info|warn|error] [--format pretty|json]

Streams the agent's log records (the recent past first) until interrupted. The level here
filters the stream; it does not change what the agent writes to its own output.`,
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        ...CLIENT_FLAGS,
        'log-level': { type: 'string', default: 'info' },
        format: { type: 'string', default: 'pretty' },
      },
      strict: true,
    });
    const level = values['log-level']!;
    if (!['debug', 'info', 'warn', 'error'].includes(level))
      throw new UsageError('--log-level must be debug, info, warn or error');
    if (values.format !== 'json' && values.format !== 'pretty')
      throw new UsageError('--format must be pretty or json');
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    try {
      const records = clientFrom(values, io.env).monitor({ level: level as LogLevel, signal: abort.signal });
      for await (const rec of records) {
        io.stdout(values.format === 'json' ? `${JSON.stringify(rec)}\n` : `${formatPretty(rec)}\n`);
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    } finally {
      process.off('SIGINT', stop);
    }
    return 0;
  },
};
