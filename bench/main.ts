/**
 * `npm run bench -- NAME [options]`: benchmarks that print numbers (and ratios against serf
 * where one runs in the same process tree). Speed targets live here, never in timed tests.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  // one line per benchmark: name -> module exporting run(args)
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
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
const bench = await load();
await bench.run(rest);
