/**
 * Command-line options of the benchmarks: each parses with {@link parseBenchArgs} (strict, so an
 * unknown or misspelt option stops it before it runs) and throws {@link BenchUsageError} for a
 * wrong value; bench/main.ts prints either with the benchmark's `usage` and exits 2.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A wrong option or value on a benchmark's command line. */
export class BenchUsageError extends Error {}

/** `parseArgs` in strict mode, its errors as {@link BenchUsageError}s. */
export function parseBenchArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (e) {
    if (String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS'))
      throw new BenchUsageError((e as Error).message);
    throw e;
  }
}
