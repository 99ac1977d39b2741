/**
 * `npm run bench -- NAME [options]`: benchmarks that print numbers (and ratios against serf
 * where one runs in the same process tree). Speed targets live here, never in timed tests.
 * `npm run bench -- NAME --help` prints a benchmark's options; a wrong one exits 2 before it runs.
 */
import { BenchUsageError } from './usage.ts';

interface Bench {
  /** The options, as a synopsis after `npm run bench -- NAME`. */
  usage: string;
  run(args: string[]): Promise<void>;
}

const benches: Record<string, () => Promise<Bench>> = {
  // one line per benchmark: name -> module exporting usage and run(args)
  sim: () => import('./sim.ts'),
  codec: () => import('./codec.ts'),
  membership: () => import('./membership.ts'),
  members: () => import('./members.ts'),
  embedded: () => import('./embedded.ts'),
  'cli-start': () => import('./cli-start.ts'),
  state: () => import('./state.ts'),
};

const [name, ...rest] = process.argv.slice(2);
const load = name === undefined ? undefined : benches[name];
if (load === undefined) {
  const names = Object.keys(benches).join('|');
  const help = name === '--help' || name === '-h';
  (help ? console.log : console.error)(
    `${name === undefined || help ? '' : `bench: no benchmark named "${name}"\n`}` +
      `usage: npm run bench -- <${names}> [options]\n` +
      '       npm run bench -- NAME --help   (the options of one)',
  );
  process.exit(help ? 0 : 2);
}
const bench = await load();
const synopsis = `usage: npm run bench -- ${name} ${bench.usage}`;
if (rest.includes('--help') || rest.includes('-h')) {
  console.log(synopsis);
} else {
  try {
    await bench.run(rest);
  } catch (e) {
    if (!(e instanceof BenchUsageError)) throw e;
    console.error(`bench ${name}: ${e.message}\n${synopsis}`);
    process.exitCode = 2;
  }
}
