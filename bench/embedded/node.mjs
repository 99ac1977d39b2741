/**
 * The Node.js side of `npm run bench -- embedded`: N `Memberlist` instances of this library in
 * one Node.js process, on real loopback sockets (one `UdpTcpTransport` each, port picked by the
 * kernel), LAN profile: what a service embedding the library, or a test, runs. It imports the
 * built package (dist/, as an application would), plain JavaScript with no loader. The mirror
 * of bench/embedded/memberlist.go, with the same arguments and the same JSON lines on stdout
 * (`listening`, `joined`, `converged` or `timeout`); it then idles until stdin closes.
 */
import { Memberlist, UdpTcpTransport } from '../../dist/index.js';

const began = performance.now();

/** @param {Record<string, unknown>} fields */
function emit(fields) {
  const ms = Math.round((performance.now() - began) * 1000) / 1000;
  process.stdout.write(`${JSON.stringify({ ...fields, ms })}\n`);
}

/** @param {string} name @param {string} fallback */
function flag(name, fallback) {
  const i = process.argv.indexOf(`-${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const nodes = Number(flag('nodes', '50'));
/** The per-address limits of nodes that all share 127.0.0.1 (see below). */
const SHARED_ADDRESS_LIMIT = 4096;
const join = flag('join', 'seed-serial');
const timeoutMs = Number(flag('converge-timeout-ms', String(10 * 60_000)));
if (!['seed', 'seed-serial', 'seed-retry'].includes(join)) {
  process.stderr.write(`-join: expected seed, seed-serial or seed-retry, got "${join}"\n`);
  process.exit(2);
}

const idle = () =>
  new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });

/** @type {Memberlist[]} */
const list = [];
for (let i = 0; i < nodes; i++) {
  const transport = await UdpTcpTransport.listen({ bindAddr: '127.0.0.1:0' });
  // Every node here shares one source address, 127.0.0.1, so the per-address admission limits
  // (memberlist has none) are raised as docs/limits.md says to: joins one after another come
  // faster than the default 32 push-pulls a second from one address.
  const ml = new Memberlist({
    name: `node-${i}`,
    transport,
    maxPushPullsPerSourcePerSecond: SHARED_ADDRESS_LIMIT,
    maxNewNamesPerSourcePerSecond: SHARED_ADDRESS_LIMIT,
  });
  ml.start();
  list.push(ml);
}
emit({ event: 'listening', nodes });

if (nodes > 0) {
  const seed = list[0].localNode.address;
  let failed = 0;
  let attempts = 0;
  /** @type {string | undefined} */
  let firstError;
  /** @param {Memberlist} ml @param {number} retries */
  const joinOne = async (ml, retries) => {
    for (let attempt = 0; ; attempt++) {
      attempts++;
      try {
        await ml.join([seed]);
        return;
      } catch (e) {
        firstError ??= String(e);
        if (attempt >= retries) {
          failed++;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  if (join === 'seed-serial') {
    for (const ml of list.slice(1)) await joinOne(ml, 0);
  } else {
    await Promise.all(list.slice(1).map((ml) => joinOne(ml, join === 'seed-retry' ? 10 : 0)));
  }
  emit({ event: 'joined', failed, attempts, ...(firstError === undefined ? {} : { error: firstError }) });

  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let least = nodes;
    for (const ml of list) least = Math.min(least, ml.numMembers);
    if (least === nodes) {
      emit({ event: 'converged' });
      break;
    }
    if (performance.now() > deadline) {
      emit({ event: 'timeout', least });
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
await idle();
for (const ml of list) await ml.shutdown();
