/**
 * Runs the `gossip` command in process (its `main` with a captured {@link CommandIo}), for
 * tests that check what a command prints without spawning a process.
 */
import type { CommandIo } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `gossip ARGS...` in this process, with an empty environment. */
export async function runCli(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
