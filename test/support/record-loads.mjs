// `node --import ./test/support/record-loads.mjs SCRIPT`: appends the URL of every module the
// process loads to the file named by GOSSIP_RECORD_LOADS, one per line: each ES module as the
// ES module loader loads it, and the CommonJS ones (bin/gossip.js, dist/cli/main.bundle.cjs,
// packages) from `require.cache` when the process exits. The CLI's lazy-loading test uses it
// to see which modules a command pulled in.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

// On the main thread this registers the file itself as loader hooks; the hooks run on the
// loader's own thread, where the `load` export below is what counts.
if (isMainThread) {
  register(import.meta.url);
  const { cache } = createRequire(import.meta.url);
  process.on('exit', () => {
    const out = process.env.GOSSIP_RECORD_LOADS;
    const files = Object.keys(cache).map((f) => `${pathToFileURL(f).href}\n`);
    if (out && files.length > 0) appendFileSync(out, files.join(''));
  });
}

/** Records the URL, then loads as usual. */
export async function load(url, context, nextLoad) {
  const out = process.env.GOSSIP_RECORD_LOADS;
  if (out) appendFileSync(out, `${url}\n`);
  return nextLoad(url, context);
}
