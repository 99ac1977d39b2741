/**
 * Agent configuration: defaults, then a JSON config file (our keys, or serf agent's keys where
 * they map), then `GOSSIP_*` environment variables, then command-line flags — later sources
 * win. Every value is validated at start; a bad one stops the agent with a message that names
 * the source, the value, and the fix.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseSeeds } from '../discovery/seeds.ts';
import { ConfigError } from '../errors.ts';
import { SHUTDOWN_GRACE_MIN_MS } from '../health/shutdown.ts';
import type { ProfileName } from '../membership/options.ts';
import { Keyring } from '../wire/crypto.ts';
import { ipFromString, splitHostPort } from '../wire/ip.ts';
import { labelBytes } from '../wire/label.ts';
import { parseDurationMs } from './duration.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';

export interface AgentConfig {
  /** Node name, unique in the cluster. @default the host name */
  nodeName: string;
  /** UDP+TCP gossip address. @default 127.0.0.1:7946 */
  bindAddr: string;
  /** Address advertised to peers. @default the bind address (or a LAN address when bound to 0.0.0.0) */
  advertiseAddr: string | undefined;
  /** HTTP API and dashboard address. @default 127.0.0.1:7373 */
  httpAddr: string;
  /** Bearer token the HTTP API requires; mandatory when the API binds to a non-loopback address. */
  httpToken: string | undefined;
  /**
   * Seeds: `IP:PORT`, `HOST:PORT` (every A and AAAA record) or `dns+srv://NAME` (SRV records).
   * Resolved again for as long as the agent runs; any address that is not a current member is
   * joined (src/discovery).
   */
  join: string[];
  /** First delay after a failed discovery round; doubles (with jitter) up to `retryJoinMaxMs`. @default 1000 */
  retryJoinMs: number;
  /** @default 30000 */
  retryJoinMaxMs: number;
  /** Failed discovery rounds before the agent gives up and exits 1, until its first join; 0: never. @default 0 */
  joinMaxAttempts: number;
  /** Least time between two resolutions of the seeds, however short their TTL. @default 5000 */
  discoveryTtlMinMs: number;
  /** Most time between two resolutions of the seeds, however long their TTL. @default 60000 */
  discoveryTtlMaxMs: number;
  /**
   * First-start gate: peers (besides this node) that must answer before a new cluster may be
   * formed; only the lowest name then starts alone, the others join it. 0: no gate. @default 0
   */
  bootstrapMinPeers: number;
  /** First-start gate: how long the discovered set must stay the same before deciding. @default 5000 */
  bootstrapStableMs: number;
  /** Base64 gossip encryption key (16, 24 or 32 bytes). */
  encryptKey: string | undefined;
  /** File that keeps the keyring across restarts (Serf's keyring file format). */
  keyringFile: string | undefined;
  /**
   * A directory of key files (a mounted Kubernetes Secret): `primary` plus any others; watched,
   * and the cluster rotated to it when it changes (src/agent/keyring-dir.ts).
   */
  keyringDir: string | undefined;
  tags: Record<string, string>;
  profile: ProfileName;
  /** Directory for the snapshot (and other state). */
  dataDir: string | undefined;
  /** Event handler specs, Serf-style: `[TYPE[:NAME]=]COMMAND`. */
  eventHandlers: string[];
  /** Replay old user events on join. @default false */
  replay: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Serve the web dashboard at `/`. @default true */
  dashboard: boolean;
  /** How often to try reconnecting to failed members (heals partitions). @default 30000 (Serf's) */
  reconnectIntervalMs: number;
  /** How long a failed member is kept (and retried) before it is reaped. @default 24 h */
  reconnectTimeoutMs: number;
  /** How long a left member is remembered. @default 24 h */
  tombstoneTimeoutMs: number;
  /**
   * Cluster label (memberlist 0.3+ `Label`): sent on every packet and stream and required on
   * input, so clusters sharing a network never merge. Empty: none (Serf 0.8 compatible).
   * @default ''
   */
  label: string;
  /** Also accept peers that send no label (the middle step of adding one). @default false */
  labelAcceptUnlabeled: boolean;
  /** Send no label while accepting it (the first step of adding one). @default false */
  labelSendUnlabeled: boolean;
  /**
   * The grace period the platform gives after SIGTERM before it kills the process (Kubernetes
   * `terminationGracePeriodSeconds`): the graceful shutdown (not ready, leave, wait for the leave
   * to spread, stop) ends 10 % (at least 1 s) before it. See src/health/shutdown.ts.
   * @default 30000
   */
  shutdownGraceMs: number;
}

export function defaultAgentConfig(): AgentConfig {
  return {
    nodeName: hostname(),
    bindAddr: '127.0.0.1:7946',
    advertiseAddr: undefined,
    httpAddr: '127.0.0.1:7373',
    httpToken: undefined,
    join: [],
    retryJoinMs: 1000,
    retryJoinMaxMs: 30_000,
    joinMaxAttempts: 0,
    discoveryTtlMinMs: 5000,
    discoveryTtlMaxMs: 60_000,
    bootstrapMinPeers: 0,
    bootstrapStableMs: 5000,
    encryptKey: undefined,
    keyringFile: undefined,
    keyringDir: undefined,
    tags: {},
    profile: 'lan',
    dataDir: undefined,
    eventHandlers: [],
    replay: false,
    logLevel: 'info',
    logFormat: 'pretty',
    dashboard: true,
    reconnectIntervalMs: 30_000,
    reconnectTimeoutMs: 24 * 3_600_000,
    tombstoneTimeoutMs: 24 * 3_600_000,
    label: '',
    labelAcceptUnlabeled: false,
    labelSendUnlabeled: false,
    shutdownGraceMs: 30_000,
  };
}

/** A partial config from one source, with where it came from for error messages. */
export type ConfigLayer = Partial<AgentConfig>;

/** Config-file keys: ours, and serf agent's where they mean the same thing. */
const FILE_KEYS: Record<string, keyof AgentConfig> = {
  node_name: 'nodeName',
  nodeName: 'nodeName',
  bind: 'bindAddr',
  bind_addr: 'bindAddr',
  advertise: 'advertiseAddr',
  advertise_addr: 'advertiseAddr',
  http: 'httpAddr',
  http_addr: 'httpAddr',
  http_token: 'httpToken',
  start_join: 'join',
  retry_join: 'join',
  join: 'join',
  retry_max_attempts: 'joinMaxAttempts',
  join_max_attempts: 'joinMaxAttempts',
  discovery_ttl_min: 'discoveryTtlMinMs',
  discovery_ttl_max: 'discoveryTtlMaxMs',
  bootstrap_min_peers: 'bootstrapMinPeers',
  bootstrap_stable: 'bootstrapStableMs',
  encrypt_key: 'encryptKey',
  encrypt: 'encryptKey',
  keyring_file: 'keyringFile',
  keyring_dir: 'keyringDir',
  tags: 'tags',
  profile: 'profile',
  data_dir: 'dataDir',
  event_handlers: 'eventHandlers',
  replay_on_join: 'replay',
  log_level: 'logLevel',
  log_format: 'logFormat',
  dashboard: 'dashboard',
  reconnect_interval: 'reconnectIntervalMs',
  reconnect_timeout: 'reconnectTimeoutMs',
  tombstone_timeout: 'tombstoneTimeoutMs',
  label: 'label',
  label_accept_unlabeled: 'labelAcceptUnlabeled',
  label_send_unlabeled: 'labelSendUnlabeled',
  shutdown_grace: 'shutdownGraceMs',
};

/** Serf keys we recognise but do not need (accepted silently so a serf config file loads). */
const IGNORED_SERF_KEYS = new Set([
  'rpc_addr',
  'rpc_auth',
  'protocol',
  'leave_on_terminate',
  'skip_leave_on_interrupt',
  'interface',
  'discover',
  'syslog_facility',
  'enable_syslog',
  'disable_coordinates',
  'query_response_size_limit',
  'query_size_limit',
  'user_event_size_limit',
  'broadcast_timeout',
  'retry_interval',
  'rejoin_after_leave',
  'statsite_addr',
  'statsd_addr',
  'snapshot_path',
  'disable_name_resolution',
]);

function closest(key: string, candidates: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i]![j] = Math.min(
          d[i - 1]![j]! + 1,
          d[i]![j - 1]! + 1,
          d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
    }
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const x = dist(key, c);
    if (x < bestD) {
      best = c;
      bestD = x;
    }
  }
  return best;
}

/** Reads a JSON config file into a layer. */
export function loadConfigFile(path: string): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('config-file', `cannot read ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('config-file', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config-file', `${path} must hold a JSON object, e.g. {"node_name": "web-1"}`);
  }
  const layer: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const field = FILE_KEYS[key];
    if (field === undefined) {
      if (IGNORED_SERF_KEYS.has(key)) continue;
      const hint = closest(key, Object.keys(FILE_KEYS));
      throw new ConfigError(
        'config-file',
        `${path}: unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ''} Known keys: ${Object.keys(FILE_KEYS).join(', ')}`,
      );
    }
    if (field === 'join' && Array.isArray(layer.join) && Array.isArray(value)) {
      layer.join = [...(layer.join as string[]), ...value];
    } else {
      layer[field] = value;
    }
  }
  return coerceLayer(layer, `config file ${path}`);
}

/** Reads `GOSSIP_*` environment variables into a layer. */
export function configFromEnv(env: NodeJS.ProcessEnv): ConfigLayer {
  const layer: Record<string, unknown> = {};
  const map: Record<string, keyof AgentConfig> = {
    GOSSIP_NODE: 'nodeName',
    GOSSIP_BIND: 'bindAddr',
    GOSSIP_ADVERTISE: 'advertiseAddr',
    GOSSIP_HTTP: 'httpAddr',
    GOSSIP_HTTP_TOKEN: 'httpToken',
    GOSSIP_JOIN: 'join',
    GOSSIP_JOIN_MAX_ATTEMPTS: 'joinMaxAttempts',
    GOSSIP_DISCOVERY_TTL_MIN: 'discoveryTtlMinMs',
    GOSSIP_DISCOVERY_TTL_MAX: 'discoveryTtlMaxMs',
    GOSSIP_BOOTSTRAP_MIN_PEERS: 'bootstrapMinPeers',
    GOSSIP_BOOTSTRAP_STABLE: 'bootstrapStableMs',
    GOSSIP_ENCRYPT: 'encryptKey',
    GOSSIP_KEYRING_FILE: 'keyringFile',
    GOSSIP_KEYRING_DIR: 'keyringDir',
    GOSSIP_TAGS: 'tags',
    GOSSIP_PROFILE: 'profile',
    GOSSIP_DATA_DIR: 'dataDir',
    GOSSIP_EVENT_HANDLERS: 'eventHandlers',
    GOSSIP_REPLAY: 'replay',
    GOSSIP_LOG_LEVEL: 'logLevel',
    GOSSIP_LOG_FORMAT: 'logFormat',
    GOSSIP_DASHBOARD: 'dashboard',
    GOSSIP_RECONNECT_INTERVAL: 'reconnectIntervalMs',
    GOSSIP_RECONNECT_TIMEOUT: 'reconnectTimeoutMs',
    GOSSIP_TOMBSTONE_TIMEOUT: 'tombstoneTimeoutMs',
    GOSSIP_LABEL: 'label',
    GOSSIP_LABEL_ACCEPT_UNLABELED: 'labelAcceptUnlabeled',
    GOSSIP_LABEL_SEND_UNLABELED: 'labelSendUnlabeled',
    GOSSIP_SHUTDOWN_GRACE: 'shutdownGraceMs',
  };
  for (const [name, field] of Object.entries(map)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    switch (field) {
      case 'join':
        layer[field] = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case 'eventHandlers':
        // Handlers may contain commas; separate them with newlines.
        layer[field] = v
          .split('\n')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case 'tags':
        layer[field] = parseTags(v.split(',').filter(Boolean), name);
        break;
      case 'replay':
      case 'dashboard':
      case 'labelAcceptUnlabeled':
      case 'labelSendUnlabeled':
        layer[field] = parseBool(v, name);
        break;
      case 'reconnectIntervalMs':
      case 'reconnectTimeoutMs':
      case 'tombstoneTimeoutMs':
      case 'discoveryTtlMinMs':
      case 'discoveryTtlMaxMs':
      case 'bootstrapStableMs':
      case 'shutdownGraceMs':
        layer[field] = durationOf(v, name);
        break;
      case 'joinMaxAttempts':
      case 'bootstrapMinPeers':
        layer[field] = countOf(v, name);
        break;
      default:
        layer[field] = v;
    }
  }
  return coerceLayer(layer, 'environment');
}

/** A Go duration string ("30s", "24h") or a number of milliseconds. */
export function durationOf(v: unknown, source: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  const ms = typeof v === 'string' ? parseDurationMs(v) : undefined;
  if (ms === undefined || !(ms > 0))
    throw new ConfigError(source, `expected a duration such as 5s, 30s or 24h; got ${JSON.stringify(v)}`);
  return ms;
}

/** A whole number, 0 or more (a flag's text or a config file's number). */
export function countOf(v: unknown, source: string): number {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(source, `expected a whole number (0 or more); got ${JSON.stringify(v)}`);
  return n;
}

function parseBool(v: string, source: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(source, `expected true or false; got "${v}"`);
}

/** Parses `KEY=VALUE` tag arguments. */
export function parseTags(items: readonly string[], source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(source, `a tag must be KEY=VALUE, e.g. role=web; got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function coerceLayer(layer: Record<string, unknown>, source: string): ConfigLayer {
  const strings: (keyof AgentConfig)[] = [
    'nodeName',
    'bindAddr',
    'advertiseAddr',
    'httpAddr',
    'httpToken',
    'encryptKey',
    'keyringFile',
    'keyringDir',
    'profile',
    'dataDir',
    'logLevel',
    'logFormat',
    'label',
  ];
  for (const f of strings) {
    if (layer[f] !== undefined && typeof layer[f] !== 'string') {
      throw new ConfigError(f, `in the ${source}, expected a string; got ${JSON.stringify(layer[f])}`);
    }
  }
  for (const f of ['join', 'eventHandlers'] as const) {
    const v = layer[f];
    if (v === undefined) continue;
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new ConfigError(f, `in the ${source}, expected a list of strings; got ${JSON.stringify(v)}`);
    }
    layer[f] = list;
  }
  if (layer.tags !== undefined) {
    const t = layer.tags;
    if (
      t === null ||
      typeof t !== 'object' ||
      Array.isArray(t) ||
      !Object.values(t).every((x) => typeof x === 'string')
    ) {
      throw new ConfigError(
        'tags',
        `in the ${source}, expected an object of string values; got ${JSON.stringify(t)}`,
      );
    }
  }
  for (const f of [
    'reconnectIntervalMs',
    'reconnectTimeoutMs',
    'tombstoneTimeoutMs',
    'discoveryTtlMinMs',
    'discoveryTtlMaxMs',
    'bootstrapStableMs',
    'shutdownGraceMs',
  ] as const) {
    if (layer[f] !== undefined) layer[f] = durationOf(layer[f], `${f} in the ${source}`);
  }
  for (const f of ['joinMaxAttempts', 'bootstrapMinPeers'] as const) {
    if (layer[f] !== undefined) layer[f] = countOf(layer[f], `${f} in the ${source}`);
  }
  for (const f of ['replay', 'dashboard', 'labelAcceptUnlabeled', 'labelSendUnlabeled'] as const) {
    if (layer[f] !== undefined && typeof layer[f] !== 'boolean') {
      throw new ConfigError(f, `in the ${source}, expected true or false; got ${JSON.stringify(layer[f])}`);
    }
  }
  return layer as ConfigLayer;
}

/** Merges layers (later wins; tags and join lists are replaced, not merged) and validates. */
export function resolveConfig(...layers: ConfigLayer[]): AgentConfig {
  const out = defaultAgentConfig();
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return validateAgentConfig(out);
}

function checkAddr(field: string, value: string, example: string, allowPortZero = true): void {
  const hp = splitHostPort(value);
  if (!hp) throw new ConfigError(field, `"${value}" is not an ip:port; use e.g. ${example}`);
  if (!ipFromString(hp.host)) {
    throw new ConfigError(
      field,
      `"${hp.host}" is not an IP address (host names are not resolved here); use e.g. ${example}`,
    );
  }
  if (!allowPortZero && hp.port === 0)
    throw new ConfigError(field, `port 0 is not allowed here; use e.g. ${example}`);
}

/** Whether `addr` (ip:port) is a loopback address. */
export function isLoopback(addr: string): boolean {
  const host = splitHostPort(addr)?.host ?? addr;
  return host === '::1' || host.startsWith('127.') || host === 'localhost';
}

export function validateAgentConfig(c: AgentConfig): AgentConfig {
  if (!c.nodeName) throw new ConfigError('node', 'the node name is empty; give one with --node NAME');
  checkAddr('bind', c.bindAddr, '127.0.0.1:7946 or [::1]:7946');
  if (c.advertiseAddr !== undefined) {
    const a = splitHostPort(c.advertiseAddr, 7946);
    if (!a || !ipFromString(a.host)) {
      throw new ConfigError(
        'advertise',
        `"${c.advertiseAddr}" is not an IP[:PORT]; use e.g. 10.0.0.5:7946 (the port defaults to the bound one)`,
      );
    }
    if (splitHostPort(c.advertiseAddr)?.port === 0) {
      throw new ConfigError(
        'advertise',
        'port 0 is not allowed here; use e.g. 10.0.0.5:7946, or leave the port out for the bound one',
      );
    }
  }
  checkAddr('http', c.httpAddr, '127.0.0.1:7373');
  parseSeeds(c.join); // throws a ConfigError showing the three seed forms
  if (!(c.discoveryTtlMaxMs >= c.discoveryTtlMinMs)) {
    throw new ConfigError(
      'discovery-ttl-max',
      `must be at least --discovery-ttl-min (${c.discoveryTtlMinMs} ms); got ${c.discoveryTtlMaxMs} ms`,
    );
  }
  if (c.bootstrapMinPeers > 0 && c.join.length === 0) {
    throw new ConfigError(
      'bootstrap-min-peers',
      'the first-start gate needs seeds to find its peers: add --join (e.g. --join dns+srv://_gossip._tcp.example.com)',
    );
  }
  if (!['lan', 'wan', 'local'].includes(c.profile)) {
    throw new ConfigError('profile', `expected lan, wan or local; got "${c.profile}"`);
  }
  if (!['debug', 'info', 'warn', 'error'].includes(c.logLevel)) {
    throw new ConfigError('log-level', `expected debug, info, warn or error; got "${c.logLevel}"`);
  }
  if (!['json', 'pretty'].includes(c.logFormat)) {
    throw new ConfigError('log-format', `expected json or pretty; got "${c.logFormat}"`);
  }
  if (c.encryptKey !== undefined) {
    try {
      Keyring.parseKey(c.encryptKey);
    } catch (e) {
      throw new ConfigError('encrypt', (e as Error).message);
    }
  }
  if (!isLoopback(c.httpAddr) && !c.httpToken) {
    throw new ConfigError(
      'http',
      `refusing to serve the HTTP API on ${c.httpAddr} without a token: anyone who can reach it could make this node leave. Set --http-token TOKEN (or GOSSIP_HTTP_TOKEN), or bind the API to 127.0.0.1`,
    );
  }
  if (c.httpToken !== undefined && c.httpToken.length < 8) {
    throw new ConfigError('http-token', 'the token is shorter than 8 characters; use a long random string');
  }
  for (const [k] of Object.entries(c.tags)) {
    if (k.length === 0) throw new ConfigError('tag', 'a tag key is empty; use KEY=VALUE');
  }
  if (c.keyringDir !== undefined && (c.encryptKey !== undefined || c.keyringFile !== undefined)) {
    throw new ConfigError(
      'keyring-dir',
      'the keys come from the directory: drop --encrypt and --keyring-file (put the key in DIR/primary instead)',
    );
  }
  const label = labelBytes(c.label);
  if (typeof label === 'string') throw new ConfigError('label', `${label}; use a shorter --label`);
  if (c.labelSendUnlabeled && !(c.labelAcceptUnlabeled && c.label !== '')) {
    throw new ConfigError(
      'label-send-unlabeled',
      'only meaningful while adding a label to a running cluster: set --label NAME and --label-accept-unlabeled too (docs/vm.md, "Adding a label")',
    );
  }
  if (c.labelAcceptUnlabeled && c.label === '') {
    throw new ConfigError(
      'label-accept-unlabeled',
      'without --label every peer is unlabelled already: set --label NAME, or drop --label-accept-unlabeled',
    );
  }
  if (!(c.shutdownGraceMs >= SHUTDOWN_GRACE_MIN_MS)) {
    throw new ConfigError(
      'shutdown-grace',
      `${c.shutdownGraceMs} ms cannot fit a leave and the exit; give at least ${SHUTDOWN_GRACE_MIN_MS / 1000}s (the pod's terminationGracePeriodSeconds, default 30s)`,
    );
  }
  if (!(c.retryJoinMs > 0) || !(c.retryJoinMaxMs >= c.retryJoinMs)) {
    throw new ConfigError('retry-join', 'the retry interval must be positive and at most the maximum');
  }
  return c;
}
