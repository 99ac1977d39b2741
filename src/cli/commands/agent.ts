import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { Agent } from '../../agent/agent.ts';
import {
  type ConfigLayer,
  configFromEnv,
  countOf,
  durationOf,
  loadConfigFile,
  parseTags,
  resolveConfig,
} from '../../agent/config.ts';
import { ConfigError } from '../../errors.ts';
import type { Command } from '../command.ts';

const HELP = `Usage: gossip agent [options]

Runs a gossip node: joins a cluster (of gossip and serf agents alike), serves the HTTP API,
the dashboard and Prometheus metrics, until SIGINT or SIGTERM. Both run the graceful shutdown:
not ready (GET /v1/health/ready answers 503), leave, stay up while the leave spreads through the
cluster, stop, within --shutdown-grace; a second signal exits at once.

Options (also GOSSIP_* environment variables and --config-file; flags win):
  --node NAME              node name, unique in the cluster (default: the host name)
  --bind IP:PORT           UDP+TCP gossip address (default 127.0.0.1:7946; port 0 picks one)
  --advertise IP[:PORT]    address announced to peers (default: the bind address; bound to
                           0.0.0.0 or ::, one on a seed's subnet, else the default route's
                           interface, else the first by interface name; never loopback to
                           peers off loopback)
  --http IP:PORT           HTTP API and dashboard (default 127.0.0.1:7373)
  --http-token TOKEN       require "Authorization: Bearer TOKEN" (mandatory off loopback)
  --join SEED              where to find members; repeatable: IP:PORT, HOST:PORT (every A and
                           AAAA record) or dns+srv://NAME (SRV records). Resolved again at the
                           records' TTL for as long as the agent runs; any address that is not
                           a member is joined (islands heal, moved clusters find themselves)
  --join-max-attempts N    give up (exit 1) after N failed rounds before the first join
                           (default 0: never)
  --discovery-ttl-min D    resolve the seeds at most this often, whatever the TTL (default 5s)
  --discovery-ttl-max D    resolve the seeds at least this often, whatever the TTL (default 60s)
  --bootstrap-min-peers N  first-start gate: wait until the seeds give a stable set (see
                           --bootstrap-stable) and N other nodes answer; then only the lowest
                           name starts a new cluster and the others join it (default 0: off)
  --bootstrap-stable D     how long the discovered set must not change first (default 5s)
  --encrypt BASE64KEY      gossip encryption key (16, 24 or 32 bytes; \`gossip keygen\` makes one)
  --keyring-file FILE      keep the keyring here across restarts
  --keyring-dir DIR        keys from files (a mounted Secret): DIR/primary encrypts, any other
                           file holds a key also accepted; when they change, the cluster is
                           rotated to them (install, use, remove) by itself (docs/kubernetes.md)
  --tag KEY=VALUE          a tag; repeatable
  --profile lan|wan|local  timing profile (default lan)
  --data-dir DIR           state directory (snapshot of members and clocks)
  --event-handler [TYPE[:NAME]=]CMD   run CMD on events, serf-style; repeatable
  --replay                 deliver user events sent before we joined
  --log-level LEVEL        debug, info, warn or error (default info)
  --log-format FORMAT      pretty or json (default pretty)
  --no-dashboard           do not serve the web dashboard
  --reconnect-interval D   how often to retry failed members, healing partitions (default 30s)
  --reconnect-timeout D    how long failed members are retried before being reaped (default 24h)
  --tombstone-timeout D    how long left members are remembered (default 24h)
  --label NAME             cluster label: peers without this exact label are dropped, so two
                           clusters on one network never merge (memberlist 0.3+; Serf 0.8 has none)
  --label-accept-unlabeled also accept peers that send no label (while adding one; docs/vm.md)
  --label-send-unlabeled   send no label yet (first step of adding one; needs the flag above)
  --shutdown-grace D       time the platform allows after SIGTERM (Kubernetes
                           terminationGracePeriodSeconds; default 30s): the graceful shutdown
                           (not ready, leave, wait for it to spread, stop) ends 10 % before it
  --config-file FILE       a JSON config file (our keys or serf's); repeatable

GOSSIP_V8_OPT=0 turns V8's optimizing compiler off for the agent: a mostly idle agent then holds
about 7 MiB less, but its hot code (packet decoding, say) runs several times slower when busy.

Example:
  gossip agent --node web-1 --bind 10.0.0.5:7946 --join 10.0.0.4:7946 --tag role=web
  gossip agent --bind 0.0.0.0:7946 --join dns+srv://_gossip._tcp.gossip.default.svc.cluster.local \
    --bootstrap-min-peers 2`;

/** Parses the agent's flags into a config layer. */
export function flagsLayer(args: string[]): { layer: ConfigLayer; configFiles: string[] } {
  const { values } = parseArgs({
    args,
    options: {
      node: { type: 'string' },
      bind: { type: 'string' },
      advertise: { type: 'string' },
      http: { type: 'string' },
      'http-token': { type: 'string' },
      join: { type: 'string', multiple: true },
      'join-max-attempts': { type: 'string' },
      'discovery-ttl-min': { type: 'string' },
      'discovery-ttl-max': { type: 'string' },
      'bootstrap-min-peers': { type: 'string' },
      'bootstrap-stable': { type: 'string' },
      encrypt: { type: 'string' },
      'keyring-file': { type: 'string' },
      'keyring-dir': { type: 'string' },
      tag: { type: 'string', multiple: true },
      profile: { type: 'string' },
      'data-dir': { type: 'string' },
      'event-handler': { type: 'string', multiple: true },
      replay: { type: 'boolean' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'no-dashboard': { type: 'boolean' },
      'reconnect-interval': { type: 'string' },
      'reconnect-timeout': { type: 'string' },
      'tombstone-timeout': { type: 'string' },
      'config-file': { type: 'string', multiple: true },
      label: { type: 'string' },
      'label-accept-unlabeled': { type: 'boolean' },
      'label-send-unlabeled': { type: 'boolean' },
      'shutdown-grace': { type: 'string' },
    },
    strict: true,
  });
  const layer: ConfigLayer = {};
  if (values.node !== undefined) layer.nodeName = values.node;
  if (values.bind !== undefined) layer.bindAddr = values.bind;
  if (values.advertise !== undefined) layer.advertiseAddr = values.advertise;
  if (values.http !== undefined) layer.httpAddr = values.http;
  if (values['http-token'] !== undefined) layer.httpToken = values['http-token'];
  if (values.join !== undefined) layer.join = values.join;
  if (values['join-max-attempts'] !== undefined)
    layer.joinMaxAttempts = countOf(values['join-max-attempts'], '--join-max-attempts');
  if (values['discovery-ttl-min'] !== undefined)
    layer.discoveryTtlMinMs = durationOf(values['discovery-ttl-min'], '--discovery-ttl-min');
  if (values['discovery-ttl-max'] !== undefined)
    layer.discoveryTtlMaxMs = durationOf(values['discovery-ttl-max'], '--discovery-ttl-max');
  if (values['bootstrap-min-peers'] !== undefined)
    layer.bootstrapMinPeers = countOf(values['bootstrap-min-peers'], '--bootstrap-min-peers');
  if (values['bootstrap-stable'] !== undefined)
    layer.bootstrapStableMs = durationOf(values['bootstrap-stable'], '--bootstrap-stable');
  if (values.encrypt !== undefined) layer.encryptKey = values.encrypt;
  if (values['keyring-file'] !== undefined) layer.keyringFile = values['keyring-file'];
  if (values['keyring-dir'] !== undefined) layer.keyringDir = values['keyring-dir'];
  if (values.tag !== undefined) layer.tags = parseTags(values.tag, '--tag');
  if (values.profile !== undefined) layer.profile = values.profile as ConfigLayer['profile'];
  if (values['data-dir'] !== undefined) layer.dataDir = values['data-dir'];
  if (values['event-handler'] !== undefined) layer.eventHandlers = values['event-handler'];
  if (values.replay) layer.replay = true;
  if (values['log-level'] !== undefined) layer.logLevel = values['log-level'] as ConfigLayer['logLevel'];
  if (values['log-format'] !== undefined) layer.logFormat = values['log-format'] as ConfigLayer['logFormat'];
  if (values['no-dashboard']) layer.dashboard = false;
  if (values['reconnect-interval'] !== undefined)
    layer.reconnectIntervalMs = durationOf(values['reconnect-interval'], '--reconnect-interval');
  if (values['reconnect-timeout'] !== undefined)
    layer.reconnectTimeoutMs = durationOf(values['reconnect-timeout'], '--reconnect-timeout');
  if (values['tombstone-timeout'] !== undefined)
    layer.tombstoneTimeoutMs = durationOf(values['tombstone-timeout'], '--tombstone-timeout');
  if (values.label !== undefined) layer.label = values.label;
  if (values['label-accept-unlabeled']) layer.labelAcceptUnlabeled = true;
  if (values['label-send-unlabeled']) layer.labelSendUnlabeled = true;
  if (values['shutdown-grace'] !== undefined)
    layer.shutdownGraceMs = durationOf(values['shutdown-grace'], '--shutdown-grace');
  return { layer, configFiles: values['config-file'] ?? [] };
}

/**
 * The V8 flags `gossip agent` sets for itself with `GOSSIP_V8_OPT=0` (a lean mode, opt-in): no
 * optimizing compiler (TurboFan). An idle agent runs a few small callbacks a second (probe,
 * gossip, anti-entropy, a packet); optimizing them touches TurboFan's code in the node binary
 * and its compile zones, about 7 MiB of resident memory that never goes back, for no CPU gain
 * at that rate (N = 4 agents on loopback, 2026-12-04, load 2-20: RSS per agent 57-58 MiB with
 * it, 50-51 without; the membership benchmark at N = 10: 7.25 ms/s of CPU per agent with it,
 * 4.97 without). But busy code stays on the
 * baseline compiler (Sparkplug): the codec benchmark's hot loops ran 4-21x slower without
 * TurboFan (`npm run bench -- codec`, `node --no-opt`, load 7-9), so an agent in a large or busy
 * cluster would pay for the memory in CPU. Hence off by default. Set before the agent is
 * created: code optimized until then (none: start-up has no hot loops) stays optimized.
 */
export const LEAN_V8_FLAGS = '--no-opt';

/** `GOSSIP_V8_OPT`: unset, empty or `1` leaves V8 as it is; `0` gives {@link LEAN_V8_FLAGS}. */
export function agentV8Flags(env: NodeJS.ProcessEnv): string | undefined {
  const v = env.GOSSIP_V8_OPT;
  if (v === undefined || v === '' || v === '1') return undefined;
  if (v === '0') return LEAN_V8_FLAGS;
  throw new ConfigError(
    'GOSSIP_V8_OPT',
    `must be 0 or 1 (0 turns V8's optimizing compiler off: less memory, slower when busy), not ${JSON.stringify(v)}`,
  );
}

export const command: Command = {
  help: HELP,
  async run(args, io) {
    const { layer, configFiles } = flagsLayer(args);
    const fileLayers = configFiles.map((f) => loadConfigFile(f));
    const config = resolveConfig(...fileLayers, configFromEnv(io.env), layer);
    const v8Flags = agentV8Flags(io.env);
    if (v8Flags !== undefined) setFlagsFromString(v8Flags);
    const agent = await Agent.create(config);
    // Signals are taken from before the banner that says Ctrl-C leaves gracefully: one that
    // came at once (a supervisor stopping what it just started) used to kill the process,
    // without a leave, before the handlers were installed. One during start waits for it.
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => {
      exit = resolve;
    });
    let started: Promise<void> | undefined;
    let running = false;
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        agent.log.warn(`second ${sig}: exiting without finishing the leave`);
        exit(1);
        return;
      }
      agent.log.info(`${sig} received: leaving the cluster gracefully (send it again to exit at once)`);
      // Once started, at once (readiness turns false in the same turn); during start, after it.
      const shutdown = running ? agent.shutdownGracefully() : started!.then(() => agent.shutdownGracefully());
      shutdown.then(
        (r) => exit(r.leftGracefully ? 0 : 1),
        (e: Error) => {
          agent.log.error('graceful shutdown failed', { error: e.message });
          exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    agent.onExit((code) => exit(code));
    started = agent.start((a) =>
      io.stdout(
        `gossip agent "${config.nodeName}" is running\n` +
          `  dashboard:  http://${a.httpAddr}/${config.httpToken ? '?token=…' : ''}\n` +
          `  gossip:     ${a.transport.localAddr}\n` +
          '  stop with Ctrl-C (leaves the cluster gracefully)\n',
      ),
    );
    await started;
    running = true;
    return await exited;
  },
};
