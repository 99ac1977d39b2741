/**
 * The shape of a CLI subcommand. Each lives in `commands/NAME.ts`, is loaded lazily (so a
 * short command such as `members` does not pay for the agent's imports; the one-line summaries
 * live in `main.ts`'s table for the same reason), and talks to a
 * running agent only through its HTTP API.
 */
export interface CommandIo {
  stdout: (text: string) => void;
  /** Raw bytes to stdout (`gossip kv get` of a binary value); text is written when absent. */
  stdoutBytes?: (bytes: Uint8Array) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  /** Full `--help` text. */
  help: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: string[], io: CommandIo): Promise<number>;
}

/** A usage error: printed with the command's help hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
