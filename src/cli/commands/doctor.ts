import { configFromEnv, loadConfigFile, resolveConfig } from '../../agent/config.ts';
import { runDoctor } from '../../agent/doctor.ts';
import { DnsResolver } from '../../discovery/dns-resolver.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../command.ts';
import { flagsLayer } from './agent.ts';

const HELP = `Usage: gossip doctor [agent options] [--format text|json] [--timeout D]

Checks a node's set-up against the network, with the same options as \`gossip agent\` (flags,
GOSSIP_* variables, --config-file): run it with the agent's own command line. It joins nothing
and changes nothing. It:
  - says which address the node would advertise, and why;
  - resolves every --join seed (IP:PORT, HOST:PORT, dns+srv://NAME): what each gave, its TTL,
    and why an address was skipped;
  - probes each address found over UDP (a ping) and TCP (a push-pull that merges nothing), with
    this node's key (--encrypt, --keyring-file) and label (--label);
  - reports who answered, and what would stop a join: nothing listening, no route, UDP blocked,
    a different key or no encryption on one side, a different cluster label, protocol versions
    that cannot talk, a member already using this node's name.

Exit status: 0 when nothing is wrong, 1 when a problem was found, 2 for bad options.

Options (besides the agent's):
  --format text|json   output (default text)
  --timeout D          per probe (default 3s)

Example:
  gossip doctor --join dns+srv://_gossip._tcp.gossip.default.svc.cluster.local --encrypt KEY`;

/** Takes `--format` and `--timeout` out of `args` (the rest are the agent's flags). */
function ownFlags(args: string[]): { rest: string[]; format: 'text' | 'json'; timeoutMs: number } {
  const rest: string[] = [];
  let format = 'text';
  let timeout = '3s';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [name, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    if (name === '--format' || name === '--timeout') {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      if (name === '--format') format = v;
      else timeout = v;
    } else rest.push(a);
  }
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json, got "${format}"`);
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(timeout);
  if (!m || !(Number(m[1]) > 0))
    throw new UsageError(`--timeout must be a duration such as 3s or 500ms, got "${timeout}"`);
  return { rest, format, timeoutMs: Number(m[1]) * (m[2] === 's' ? 1000 : 1) };
}

export const command: Command = {
  help: HELP,
  async run(args, io) {
    const { rest, format, timeoutMs } = ownFlags(args);
    const { layer, configFiles } = flagsLayer(rest);
    const config = resolveConfig(...configFiles.map((f) => loadConfigFile(f)), configFromEnv(io.env), layer);
    const report = await runDoctor(config, { resolver: new DnsResolver(), timeoutMs });
    if (format === 'json') {
      io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      return report.isHealthy ? 0 : 1;
    }
    const out: string[] = [`gossip doctor: node "${report.node}"`, ''];
    out.push(
      'advertise' in report && 'addr' in report.advertise
        ? `advertise  ${report.advertise.addr}  (${report.advertise.reason}${report.advertise.iface ? `, ${report.advertise.iface}` : ''})`
        : `advertise  cannot choose: ${(report.advertise as { error: string }).error}`,
    );
    out.push(
      `encryption ${report.encryption ? `on (${report.encryption.keys} key${report.encryption.keys > 1 ? 's' : ''})` : 'off'}`,
    );
    out.push(`label      ${report.label === null ? 'none' : `"${report.label}"`}`, '', 'seeds');
    if (report.seeds.length === 0) out.push('  (none: give --join)');
    for (const s of report.seeds) {
      const ttl = s.ttlS === undefined ? '' : `, TTL ${s.ttlS} s`;
      out.push(
        `  ${s.spec} (${s.kind}${ttl}): ${s.addrs.length > 0 ? s.addrs.join(', ') : (s.error ?? 'nothing')}`,
      );
      for (const t of s.srvTargets ?? []) {
        out.push(
          `    SRV target ${t.host}:${t.port} -> ${t.addrs.length > 0 ? t.addrs.join(', ') : (t.error ?? 'nothing')}`,
        );
      }
      for (const k of s.skipped) out.push(`    skipped ${k.addr}: ${k.why}`);
    }
    out.push('', 'peers');
    if (report.peers.length === 0) out.push('  (no address to probe)');
    for (const p of report.peers) {
      const udp = p.udpRttMs === undefined ? 'UDP no answer' : `UDP ok (${p.udpRttMs.toFixed(1)} ms)`;
      const tcp = p.tcpOk ? `TCP ok: ${p.name} (${p.aliveMembers} alive)` : 'TCP failed';
      out.push(`  ${p.addr}  ${udp}  ${tcp}`);
      for (const x of p.problems) out.push(`    problem: ${x}`);
    }
    if (report.notProbed.length > 0)
      out.push(`  not probed (over the limit): ${report.notProbed.join(', ')}`);
    out.push('');
    for (const x of report.problems) out.push(`problem: ${x}`);
    const count = report.problems.length + report.peers.reduce((n, p) => n + p.problems.length, 0);
    out.push(count === 0 ? 'no problems found' : `${count} problem${count > 1 ? 's' : ''} found`);
    io.stdout(`${out.join('\n')}\n`);
    return report.isHealthy ? 0 : 1;
  },
};
