// `node --import ./test/support/record-loads.mjs SCRIPT`: appends the URL of every module the
// ES module loader loads to the file named by GOSSIP_RECORD_LOADS, one per line. The CLI's
// lazy-loading test uses it to see which modules a command pulled in.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

// On the main thread this registers the file itself as loader hooks; the hooks run on the
// loader's own thread, where the `load` export below is what counts.
if (isMainThread) register(import.meta.url);

/** Records the URL, then loads as usual. */
export async function load(url, context, nextLoad) {
  const out = process.env.GOSSIP_RECORD_LOADS;
  if (out) appendFileSync(out, `${url}\n`);
  return nextLoad(url, context);
}
