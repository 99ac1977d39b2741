/**
 * Seed discovery through real DNS between real `gossip agent` processes, each in its own
 * network namespace (its own address: separate machines), behind one bridge
 * (test/support/netns.ts), with Debian's `dnsmasq` serving the seed name from a namespace of its
 * own. Every agent namespace's resolv.conf points at it.
 *
 * - The records: `gossip.test` (A, one per agent), `a|b|c.gossip.test` (A) and
 *   `_gossip._tcp.gossip.test` (SRV, targets a, b and c at port 7946), from a hosts file that
 *   dnsmasq reads again on SIGHUP; TTL 1 s.
 * - Agent a joins through `gossip.test:7946` (A), b through `dns+srv://_gossip._tcp.gossip.test`
 *   (SRV), c through both. Each binds the wildcard `0.0.0.0:7946`, on a namespace that also has
 *   an interface `aa0` (sorting before `eth0`) on 192.0.2.0/24 and no default route: the rule
 *   must pick the eth0 address on the seeds' subnet, and say so in its log.
 * - They form one cluster. Then every agent dies, its machine gets a new address (eth0's old one
 *   removed), and it starts again while DNS still lists the old addresses; a few seconds later
 *   the records change (hosts file rewritten, SIGHUP). With no other action the agents find each
 *   other again: every agent lists the three alive at their new addresses.
 *
 * Needs root, `ip netns` and dnsmasq; skipped (saying why) otherwise. Bounded in time; the
 * topology, dnsmasq and the agents are removed also on failure.
 */
// npm test: heavy (agents and dnsmasq in network namespaces)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MemberJson } from '../support/gossip-agent.ts';
import { type NetnsAgent, NetnsTopology, netnsUnavailable } from '../support/netns.ts';
import { sleep, waitFor } from '../support/serf.ts';

function dnsmasqUnavailable(): string | undefined {
  const r = spawnSync('dnsmasq', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'dnsmasq is not installed (Debian: apt-get install dnsmasq-base)';
}

const unavailable = netnsUnavailable() ?? dnsmasqUnavailable();
const NAMES = ['a', 'b', 'c'] as const;
const SEEDS: Record<string, string[]> = {
  a: ['gossip.test:7946'],
  b: ['dns+srv://_gossip._tcp.gossip.test'],
  c: ['gossip.test:7946', 'dns+srv://_gossip._tcp.gossip.test'],
};

function view(members: MemberJson[]): string {
  return members
    .map((m) => `${m.name}@${m.addr}=${m.status}`)
    .sort()
    .join(' ');
}

describe('seed discovery through DNS across machines (network namespaces + dnsmasq)', {
  skip: unavailable && `needs network namespaces and dnsmasq: ${unavailable}`,
  timeout: 240_000,
}, () => {
  let topo: NetnsTopology;
  let hostsFile: string;
  let dns: ReturnType<NetnsTopology['spawnIn']>;
  const agents = new Map<string, NetnsAgent>();

  const writeRecords = (ipOf: (n: string) => string) => {
    const lines: string[] = [];
    for (const n of NAMES) lines.push(`${ipOf(n)} gossip.test`, `${ipOf(n)} ${n}.gossip.test`);
    writeFileSync(hostsFile, `${lines.join('\n')}\n`, { mode: 0o644 });
  };
  const start = (n: string, addressIndex: number) => {
    const a = topo.startAgent(n, addressIndex, {
      node: n,
      bind: '0.0.0.0:7946',
      join: SEEDS[n]!,
      extraArgs: ['--discovery-ttl-min', '1s', '--discovery-ttl-max', '5s', '--log-level', 'debug'],
    });
    agents.set(n, a);
    return a;
  };
  const views = () => Promise.all(NAMES.map((n) => agents.get(n)!.members()));
  const dump = async () =>
    (await Promise.allSettled(NAMES.map((n) => agents.get(n)!.members())))
      .map((r, i) => `${NAMES[i]}: ${r.status === 'fulfilled' ? view(r.value) : String(r.reason)}`)
      .join('\n');
  /** Every agent lists exactly the three, alive, each at `ipOf(name)`. */
  const oneCluster = (ipOf: (n: string) => string) => async () => {
    const want = NAMES.map((n) => `${n}@${ipOf(n)}:7946=alive`).join(' ');
    return (await views()).every((ms) => view(ms.filter((m) => m.status === 'alive')) === want);
  };

  before(async () => {
    // One namespace per machine (a, b, c; the two addresses of each are its old and new one) and one for DNS (d).
    topo = NetnsTopology.create({ sides: { a: 2, b: 2, c: 2, d: 1 } });
    const dnsIp = topo.side('d').ips[0]!;
    for (const n of NAMES) {
      // Keep only the first address for now: the second is the machine's address after the move.
      topo.ipIn(n, ['addr', 'del', `${topo.side(n).ips[1]}/24`, 'dev', 'eth0']);
      // A decoy interface that sorts before eth0, on another subnet, with no default route.
      topo.ipIn(n, ['link', 'add', 'aa0', 'type', 'veth', 'peer', 'name', 'aa1']);
      topo.ipIn(n, ['addr', 'add', '192.0.2.7/24', 'dev', 'aa0']);
      topo.ipIn(n, ['link', 'set', 'aa0', 'up']);
      topo.ipIn(n, ['link', 'set', 'aa1', 'up']);
      topo.setNameserver(n, dnsIp);
    }
    const dir = topo.scratchDir();
    hostsFile = join(dir, 'hosts');
    writeRecords((n) => topo.side(n).ips[0]!);
    dns = topo.spawnIn('d', 'dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hostsFile}`,
      '--local-ttl=1',
      `--listen-address=${dnsIp}`,
      '--bind-interfaces',
      '--user=root',
      '--pid-file=',
      '--log-facility=-',
      ...NAMES.map((n) => `--srv-host=_gossip._tcp.gossip.test,${n}.gossip.test,7946`),
    ]);
    await sleep(500);
    assert.equal(dns.proc.exitCode, null, `dnsmasq exited: ${dns.log()}`);
  });

  after(async () => {
    await topo?.destroy();
    assert.deepEqual(topo?.leftovers() ?? [], [], 'every namespace and link is gone');
  });

  it('form one cluster through A and SRV records, advertising the eth0 address picked by rule', async () => {
    const old = (n: string) => topo.side(n).ips[0]!;
    const t0 = performance.now();
    for (const n of NAMES) start(n, 0);
    for (const a of agents.values()) await a.ready();
    await waitFor('one cluster at the first addresses', oneCluster(old), 60_000, 200).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await dump()}\n${agents.get('b')!.log.slice(-3000)}`);
    });
    console.log(`formed through DNS in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const n of NAMES) {
      const log = agents.get(n)!.log;
      assert.match(log, /advertising an address picked by rule/);
      assert.match(log, new RegExp(`same subnet \\(/24\\) as seed ${topo.subnet.replace(/\./g, '\\.')}`));
      assert.doesNotMatch(log, /192\.0\.2\.7:7946/);
    }
  });

  it('every agent restarted at a new address finds the others again once the records change', async () => {
    const moved = (n: string) => topo.side(n).ips[1]!;
    for (const n of NAMES) {
      await agents.get(n)!.kill();
      topo.ipIn(n, ['addr', 'del', `${topo.side(n).ips[0]}/24`, 'dev', 'eth0']);
      topo.ipIn(n, ['addr', 'add', `${moved(n)}/24`, 'dev', 'eth0']);
    }
    for (const n of NAMES) start(n, 1);
    for (const a of agents.values()) await a.ready();
    // DNS still lists the old addresses for a while: nobody can be found.
    await sleep(4000);
    for (const ms of await views()) assert.equal(ms.filter((m) => m.status === 'alive').length, 1, view(ms));
    const t0 = performance.now();
    writeRecords(moved);
    dns.proc.kill('SIGHUP');
    await waitFor('one cluster at the new addresses', oneCluster(moved), 60_000, 200).catch(async (e) => {
      throw new Error(`${(e as Error).message}\n${await dump()}\n${agents.get('a')!.log.slice(-3000)}`);
    });
    console.log(`found again ${((performance.now() - t0) / 1000).toFixed(1)} s after the records changed`);
  });
});
