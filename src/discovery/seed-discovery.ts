/**
 * Seed discovery that never stops. For as long as the node runs, it resolves its seed sources
 * again (when their records' TTL runs out, clamped to a floor and a ceiling) and joins every
 * discovered address that is not a current member, so that:
 *
 * - a node that starts before its peers keeps looking until they come (with backoff and jitter);
 * - islands heal: a node stranded with a dead island, or two halves that each forgot the other,
 *   find each other again through the seeds;
 * - a cluster whose every member changed address (all pods rescheduled) finds itself again from
 *   the new DNS records.
 *
 * This is where we differ from Serf, Consul and memberlist on purpose: their `retry_join` stops
 * for good after the first success, resolves names only while it runs, and counts a join that
 * reached only ourselves as a success. Here a join counts only when we then hold another alive
 * member; our own addresses are never joined.
 *
 * **First-start gate** (`bootstrap`, Akka Management's Cluster Bootstrap inside our protocol):
 * a node whose gate is on joins no one but an existing cluster until discovery has returned the
 * same set of addresses for `stableMarginMs` and at least `minPeers` of them answered; then the
 * node with the lowest name among itself and every answering peer may start alone, and the
 * others join it. Peers are asked with a push-pull that merges nothing (`Memberlist.peekState`),
 * so waiting nodes learn each other's names without forming anything. A peer that is already in
 * a cluster (it holds another alive member) is joined at once; a node that someone joined is
 * formed too. Every address must answer before the lowest is chosen (Akka's
 * `contact-with-all-contact-points`): a silent address might belong to a lower name.
 *
 * Pure: time, randomness, name resolution and the node itself come in through a `Clock`, a
 * `Random`, a {@link Resolver} and a {@link DiscoveryTarget}; the simulator runs the same loop.
 */
import { ConfigError, StateError } from '../errors.ts';
import { type Logger, safeLogger, silentLogger } from '../log.ts';
import { type Clock, RealClock, type Timer } from '../runtime/clock.ts';
import { TypedEmitter } from '../runtime/emitter.ts';
import { type Random, SeededRandom } from '../runtime/random.ts';
import { secureSeed } from '../runtime/seed.ts';
import type { Resolver } from './resolver.ts';
import { parseSeeds, type SeedSource } from './seeds.ts';
import { type DiscoveryPass, resolveSources, type SourceReport } from './sources.ts';

/** A member as discovery needs to see it. */
export interface TargetMember {
  name: string;
  /** `ip:port` in canonical form (IPv6 in brackets, compressed). */
  address: string;
  /** memberlist's status: alive, suspect, dead or left. */
  status: string;
}

/**
 * The node discovery works for (adapters for `Memberlist` and `Serf` are in targets.ts).
 * `join` and `peek` may run for seconds (a TCP exchange each); they are never called
 * concurrently by one discovery.
 */
export interface DiscoveryTarget {
  /** Our node name. */
  readonly localName: string;
  /** Addresses that are ours (the advertised one first): never joined. */
  localAddresses(): readonly string[];
  /** Joins through `ip:port` addresses; resolves to how many answered, rejects when none did. */
  join(addrs: readonly string[]): Promise<number>;
  /** Every member we hold, ourselves included. */
  members(): Iterable<TargetMember>;
  /** The member list at `addr`, read without joining (only the first-start gate calls it). */
  peek(addr: string): Promise<readonly TargetMember[]>;
  /**
   * Calls `listener` when a member leaves or fails (synchronously, inside the target's event);
   * returns the unsubscribe function. Lets discovery look for the cluster at once when the
   * last other member is gone, instead of at the next refresh. Optional.
   */
  onMemberGone?(listener: () => void): () => void;
}

/** The first-start gate's options (see the file comment). */
export interface BootstrapOptions {
  /**
   * Peers (besides this node) that must answer before a new cluster may be formed. With 2 and
   * three replicas, each waits for the other two.
   */
  minPeers: number;
  /** How long discovery must return the same addresses before a decision, ms. @default 5000 (Akka's stable-margin) */
  stableMarginMs?: number;
  /** Time between gate rounds (resolve, then ask every address), ms. @default 1000 (Akka's probe-interval) */
  probeIntervalMs?: number;
}

/** Options of {@link SeedDiscovery}. */
export interface SeedDiscoveryOptions {
  /** Seed sources: `IP:PORT`, `HOST:PORT`, `dns+srv://NAME` (see seeds.ts). At least one. */
  seeds: readonly string[];
  target: DiscoveryTarget;
  /** Needed for host-name and SRV seeds (`new DnsResolver()` on real DNS). */
  resolver?: Resolver | undefined;
  /** @default a real clock */
  clock?: Clock | undefined;
  /** Jitter. @default seeded from the OS */
  random?: Random | undefined;
  logger?: Logger | undefined;
  /** First delay after a failed round, ms; doubles per failure up to `retryMaxMs`. @default 1000 */
  retryBaseMs?: number | undefined;
  /** @default 30000 (Serf's and Consul's retry interval) */
  retryMaxMs?: number | undefined;
  /** Each delay is stretched by up to this fraction, at random, so a fleet does not retry in step. @default 0.2 (Akka's) */
  jitter?: number | undefined;
  /** Least time between two resolutions however short the TTL, ms. @default 5000 */
  ttlFloorMs?: number | undefined;
  /** Most time between two resolutions however long the TTL, ms. @default 60000 */
  ttlCeilingMs?: number | undefined;
  /** Time between resolutions when no record carried a TTL (IP seeds, a hosts file), ms. @default 30000 */
  refreshMs?: number | undefined;
  /**
   * Failed rounds before giving up, until the first join (0: never give up). After giving up the
   * loop stops and emits `gave-up` (the agent exits). Once joined, discovery never gives up.
   * @default 0
   */
  maxAttempts?: number | undefined;
  /** Most join attempts (one address each) in one round; the rest wait for the next. @default 4 */
  maxJoinsPerRound?: number | undefined;
  /** The first-start gate; undefined: off (join whatever answers). */
  bootstrap?: BootstrapOptions | undefined;
}

/** Where the loop is. */
export type DiscoveryPhase =
  | 'created'
  /** Waiting in the first-start gate. */
  | 'gated'
  /** Looking for a first member to join. */
  | 'searching'
  /** Joined (or formed a new cluster through the gate); still watching the seeds. */
  | 'joined'
  | 'gave-up'
  | 'stopped';

/** How a node came to be in a cluster. */
export type FormedReason = 'joined' | 'joined-by-peer' | 'lowest-name';

/** A join attempt of one round. */
export interface JoinAttempt {
  addr: string;
  ok: boolean;
  error?: string;
}

/** The record of one round. */
export interface DiscoveryRound {
  atMs: number;
  phase: DiscoveryPhase;
  sources: SourceReport[];
  /** Discovered addresses (our own skipped). */
  discovered: string[];
  /** Discovered addresses that were not current members. */
  candidates: string[];
  joins: JoinAttempt[];
  /** What the round concluded, for logs and `/v1/discovery`. */
  outcome: string;
  /** When the next round runs (clock ms). */
  nextAtMs: number;
}

/** Events of a {@link SeedDiscovery}. */
export interface DiscoveryEvents {
  round: DiscoveryRound;
  /** In a cluster for the first time (or again after being alone). */
  formed: { reason: FormedReason; through: string | undefined; peers: string[] };
  'gave-up': { attempts: number; lastOutcome: string };
}

/** A snapshot of the loop's state. */
export interface DiscoveryStatus {
  phase: DiscoveryPhase;
  seeds: string[];
  /** Set once the node joined a cluster or formed one through the gate. */
  formed: FormedReason | undefined;
  /** Failed rounds in a row. */
  failures: number;
  lastRound: DiscoveryRound | undefined;
}

const DEFAULTS = {
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
  jitter: 0.2,
  ttlFloorMs: 5000,
  ttlCeilingMs: 60_000,
  refreshMs: 30_000,
  maxAttempts: 0,
  maxJoinsPerRound: 4,
  stableMarginMs: 5000,
  probeIntervalMs: 1000,
};

function positive(field: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new ConfigError(field, `must be a positive number; got ${v}`);
  return v;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Whether a member counts as current: alive or suspect (dead and left addresses are joined again). */
function isCurrent(status: string): boolean {
  return status === 'alive' || status === 'suspect';
}

/** The loop (see the file comment). `start()` runs it, `stop()` ends it; construction does no I/O. */
export class SeedDiscovery {
  readonly sources: readonly SeedSource[];
  readonly #o: Required<Omit<SeedDiscoveryOptions, 'resolver' | 'bootstrap' | 'logger'>>;
  readonly #resolver: Resolver | undefined;
  readonly #gate: Required<BootstrapOptions> | undefined;
  readonly #log: Logger;
  readonly #events = new TypedEmitter<DiscoveryEvents>();
  #phase: DiscoveryPhase = 'created';
  #formed: FormedReason | undefined;
  #failures = 0;
  #timer: Timer | undefined;
  #lastRound: DiscoveryRound | undefined;
  /** Gate: the address set last seen, and since when. */
  #stableKey = '';
  #stableSinceMs = 0;

  constructor(options: SeedDiscoveryOptions) {
    if (options.seeds.length === 0) throw new ConfigError('join', 'seed discovery needs at least one seed');
    this.sources = parseSeeds(options.seeds);
    const needsResolver = this.sources.some((s) => s.kind !== 'ip');
    if (needsResolver && options.resolver === undefined) {
      throw new ConfigError(
        'resolver',
        'host-name and dns+srv:// seeds need a resolver: pass `resolver: new DnsResolver()` (or a MemoryResolver in tests)',
      );
    }
    this.#resolver = options.resolver;
    const pick = <K extends keyof typeof DEFAULTS>(k: K): number =>
      (options as unknown as Record<string, number | undefined>)[k] ?? DEFAULTS[k];
    this.#o = {
      seeds: options.seeds,
      target: options.target,
      clock: options.clock ?? new RealClock(),
      random: options.random ?? new SeededRandom(secureSeed()),
      retryBaseMs: positive('retryBaseMs', pick('retryBaseMs')),
      retryMaxMs: positive('retryMaxMs', pick('retryMaxMs')),
      jitter: pick('jitter'),
      ttlFloorMs: positive('ttlFloorMs', pick('ttlFloorMs')),
      ttlCeilingMs: positive('ttlCeilingMs', pick('ttlCeilingMs')),
      refreshMs: positive('refreshMs', pick('refreshMs')),
      maxAttempts: pick('maxAttempts'),
      maxJoinsPerRound: positive('maxJoinsPerRound', pick('maxJoinsPerRound')),
    };
    const o = this.#o;
    if (o.retryMaxMs < o.retryBaseMs)
      throw new ConfigError('retryMaxMs', `must be at least retryBaseMs (${o.retryBaseMs})`);
    if (o.ttlCeilingMs < o.ttlFloorMs)
      throw new ConfigError('ttlCeilingMs', `must be at least ttlFloorMs (${o.ttlFloorMs})`);
    if (!(o.jitter >= 0 && o.jitter <= 1))
      throw new ConfigError('jitter', `must be in [0, 1]; got ${o.jitter}`);
    if (!(Number.isInteger(o.maxAttempts) && o.maxAttempts >= 0)) {
      throw new ConfigError('maxAttempts', `must be a whole number, 0 for no limit; got ${o.maxAttempts}`);
    }
    if (options.bootstrap !== undefined) {
      const b = options.bootstrap;
      if (!(Number.isInteger(b.minPeers) && b.minPeers >= 1)) {
        throw new ConfigError(
          'bootstrap.minPeers',
          `must be a whole number of at least 1; got ${b.minPeers}`,
        );
      }
      this.#gate = {
        minPeers: b.minPeers,
        stableMarginMs: positive('bootstrap.stableMarginMs', b.stableMarginMs ?? DEFAULTS.stableMarginMs),
        probeIntervalMs: positive('bootstrap.probeIntervalMs', b.probeIntervalMs ?? DEFAULTS.probeIntervalMs),
      };
    }
    this.#log = safeLogger(options.logger ?? silentLogger);
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof DiscoveryEvents>(event: K, listener: (e: DiscoveryEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  get phase(): DiscoveryPhase {
    return this.#phase;
  }

  /** Set once the node is in a cluster (joined, joined by a peer, or formed alone as the lowest name). */
  get formed(): FormedReason | undefined {
    return this.#formed;
  }

  status(): DiscoveryStatus {
    return {
      phase: this.#phase,
      seeds: this.sources.map((s) => s.spec),
      formed: this.#formed,
      failures: this.#failures,
      lastRound: this.#lastRound,
    };
  }

  /** Starts the loop: the first round runs at once (on the next timer tick). */
  start(): void {
    if (this.#phase !== 'created') throw new StateError(`cannot start seed discovery that is ${this.#phase}`);
    this.#phase = this.#gate ? 'gated' : 'searching';
    this.#stableSinceMs = this.#o.clock.now();
    this.#unsubscribe = this.#o.target.onMemberGone?.(() => this.#memberGone());
    this.#schedule(0);
  }

  #unsubscribe: (() => void) | undefined;
  /** When the next round is due (clock ms). */
  #nextAtMs = 0;

  /** The last other member left or failed: look for the cluster soon, not at the next refresh. */
  #memberGone(): void {
    if (this.#phase !== 'joined' || this.#running || this.#hasPeer()) return;
    const soon = this.#jittered(this.#o.retryBaseMs);
    if (this.#nextAtMs - this.#o.clock.now() > soon) {
      this.#log.info('no other member is alive: looking for the cluster through the seeds', {
        seeds: this.sources.map((s) => s.spec),
      });
      this.#schedule(soon);
    }
  }

  /** Stops the loop; a round in flight finishes without effect. */
  stop(): void {
    if (this.#phase === 'stopped') return;
    this.#phase = 'stopped';
    this.#unsubscribe?.();
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Runs a round now instead of at its time (an operator's `join`, a test). */
  poke(): void {
    if (this.#phase !== 'gated' && this.#phase !== 'searching' && this.#phase !== 'joined') return;
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    this.#timer?.cancel();
    this.#nextAtMs = this.#o.clock.now() + delayMs;
    this.#timer = this.#o.clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      void this.#round();
    });
  }

  #running = false;

  #isActive(): boolean {
    return this.#phase === 'gated' || this.#phase === 'searching' || this.#phase === 'joined';
  }

  /** Whether we hold another alive member. */
  #hasPeer(): boolean {
    const me = this.#o.target.localName;
    for (const m of this.#o.target.members()) if (m.name !== me && m.status === 'alive') return true;
    return false;
  }

  #selfAddrs(): Set<string> {
    return new Set(this.#o.target.localAddresses());
  }

  #jittered(ms: number): number {
    return ms * (1 + this.#o.jitter * this.#o.random.float());
  }

  #refreshDelay(pass: DiscoveryPass): number {
    const o = this.#o;
    const base = pass.ttlS === undefined ? o.refreshMs : pass.ttlS * 1000;
    return this.#jittered(Math.min(o.ttlCeilingMs, Math.max(o.ttlFloorMs, base)));
  }

  #backoffDelay(): number {
    const o = this.#o;
    const exp = Math.min(30, Math.max(0, this.#failures - 1));
    return this.#jittered(Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** exp));
  }

  async #round(): Promise<void> {
    if (!this.#isActive() || this.#running) return;
    this.#running = true;
    try {
      const pass = await resolveSources(this.sources, this.#resolver, this.#selfAddrs());
      if (!this.#isActive()) return;
      if (this.#phase === 'gated') await this.#gateRound(pass);
      else await this.#joinRound(pass);
    } catch (e) {
      // Only a bug gets here (resolving and joining report their failures); keep the loop alive.
      this.#log.error('seed discovery round failed', { error: errorText(e) });
      if (this.#isActive()) this.#schedule(this.#o.retryMaxMs);
    } finally {
      this.#running = false;
    }
  }

  #logSources(pass: DiscoveryPass): void {
    for (const s of pass.sources) {
      if (s.error !== undefined)
        this.#log.warn('seed source gave no addresses', { seed: s.spec, why: s.error });
      for (const k of s.skipped)
        this.#log.debug('seed address skipped', { seed: s.spec, addr: k.addr, why: k.why });
    }
  }

  #finishRound(
    pass: DiscoveryPass,
    candidates: string[],
    joins: JoinAttempt[],
    outcome: string,
    delayMs: number,
  ): void {
    const now = this.#o.clock.now();
    const round: DiscoveryRound = {
      atMs: now,
      phase: this.#phase,
      sources: pass.sources,
      discovered: pass.addrs,
      candidates,
      joins,
      outcome,
      nextAtMs: now + delayMs,
    };
    this.#lastRound = round;
    this.#events.emit('round', round);
    if (this.#isActive()) this.#schedule(delayMs);
  }

  #becomeFormed(reason: FormedReason, through: string | undefined): void {
    const first = this.#formed === undefined;
    this.#formed ??= reason;
    this.#phase = 'joined';
    this.#failures = 0;
    const me = this.#o.target.localName;
    const peers = [...this.#o.target.members()]
      .filter((m) => m.name !== me && m.status === 'alive')
      .map((m) => m.name);
    this.#log.info(first ? 'in a cluster' : 'in a cluster again', { reason, through, peers: peers.length });
    this.#events.emit('formed', { reason, through, peers });
  }

  /** A normal round: join every discovered address that is not a current member. */
  async #joinRound(pass: DiscoveryPass): Promise<void> {
    const o = this.#o;
    this.#logSources(pass);
    const wasInCluster = this.#hasPeer();
    const joins: JoinAttempt[] = [];
    const tried = new Set<string>();
    const candidatesNow = (): string[] => {
      const current = new Set<string>();
      for (const m of o.target.members()) if (isCurrent(m.status)) current.add(m.address);
      return pass.addrs.filter((a) => !current.has(a) && !tried.has(a));
    };
    const candidates = candidatesNow();
    let answered = 0;
    while (joins.length < o.maxJoinsPerRound) {
      // Recomputed after each join: a push-pull teaches us the members the remote knows.
      const left = candidatesNow();
      if (left.length === 0) break;
      const addr = left[o.random.int(left.length)]!;
      tried.add(addr);
      try {
        const n = await o.target.join([addr]);
        if (!this.#isActive()) return;
        joins.push({ addr, ok: n > 0 });
        if (n > 0) answered++;
      } catch (e) {
        if (!this.#isActive()) return;
        joins.push({ addr, ok: false, error: errorText(e) });
        this.#log.debug('seed join failed', { addr, error: errorText(e) });
      }
    }
    const inCluster = this.#hasPeer();
    let outcome: string;
    let failed: boolean;
    if (answered > 0 && inCluster) {
      outcome = `joined through ${joins
        .filter((j) => j.ok)
        .map((j) => j.addr)
        .join(', ')}`;
      failed = false;
      if (this.#phase !== 'joined' || !wasInCluster) {
        this.#becomeFormed('joined', joins.find((j) => j.ok)?.addr);
      }
    } else if (answered > 0) {
      outcome = 'the join reached only ourselves (every answer listed no other alive member)';
      failed = true;
    } else if (joins.length > 0) {
      outcome = `no discovered address answered (${joins.map((j) => `${j.addr}: ${j.error ?? 'no answer'}`).join('; ')})`;
      failed = true;
    } else if (inCluster) {
      outcome =
        pass.addrs.length === 0
          ? 'no addresses discovered; still in the cluster'
          : 'every discovered address is a member';
      failed = false;
      if (this.#phase !== 'joined') this.#becomeFormed('joined-by-peer', undefined);
    } else {
      outcome =
        pass.addrs.length === 0
          ? 'the seeds gave no address but our own'
          : 'every discovered address is a member, but none alive';
      failed = true;
    }
    this.#failures = failed ? this.#failures + 1 : 0;
    if (failed) this.#log.info('seed discovery: no join this round', { outcome, failures: this.#failures });
    if (failed && this.#formed === undefined && o.maxAttempts > 0 && this.#failures >= o.maxAttempts) {
      this.#phase = 'gave-up';
      this.#log.error('seed discovery gave up', { attempts: this.#failures, outcome });
      this.#finishRound(pass, candidates, joins, outcome, 0);
      this.#events.emit('gave-up', { attempts: this.#failures, lastOutcome: outcome });
      return;
    }
    const delay = failed ? this.#backoffDelay() : this.#refreshDelay(pass);
    this.#finishRound(pass, candidates, joins, outcome, delay);
  }

  /** A gate round (see the file comment). */
  async #gateRound(pass: DiscoveryPass): Promise<void> {
    const o = this.#o;
    const gate = this.#gate!;
    const now = o.clock.now();
    this.#logSources(pass);
    if (this.#hasPeer()) {
      this.#becomeFormed('joined-by-peer', undefined);
      this.#finishRound(pass, [], [], 'a peer joined us while we waited', this.#refreshDelay(pass));
      return;
    }
    const key = [...pass.addrs].sort().join(',');
    if (key !== this.#stableKey) {
      this.#stableKey = key;
      this.#stableSinceMs = now;
    }
    const me = o.target.localName;
    const answers = await Promise.all(
      pass.addrs.map(async (addr) => {
        try {
          const members = await o.target.peek(addr);
          return { addr, members, error: undefined };
        } catch (e) {
          return { addr, members: [] as readonly TargetMember[], error: errorText(e) };
        }
      }),
    );
    if (!this.#isActive()) return;
    const joins: JoinAttempt[] = [];
    // A peer already in a cluster: join it now.
    for (const a of answers) {
      const alive = a.members.filter((m) => m.status === 'alive' && m.name !== me);
      if (a.error !== undefined || alive.length < 2) continue;
      const ok = await this.#tryJoin(a.addr, joins);
      if (!this.#isActive()) return;
      if (ok) {
        this.#becomeFormed('joined', a.addr);
        this.#finishRound(
          pass,
          pass.addrs,
          joins,
          `joined an existing cluster through ${a.addr}`,
          this.#refreshDelay(pass),
        );
        return;
      }
    }
    const peers: { addr: string; name: string }[] = [];
    const silent: string[] = [];
    for (const a of answers) {
      const self =
        a.members.find((m) => m.address === a.addr && m.status === 'alive') ??
        a.members.find((m) => m.status === 'alive');
      if (a.error !== undefined || self === undefined) silent.push(a.addr);
      else if (self.name !== me) peers.push({ addr: a.addr, name: self.name });
    }
    const stableForMs = now - this.#stableSinceMs;
    let outcome: string;
    if (stableForMs < gate.stableMarginMs) {
      outcome = `waiting for the discovered set to stay the same for ${gate.stableMarginMs} ms (${Math.round(stableForMs)} ms so far)`;
    } else if (silent.length > 0) {
      outcome = `waiting for every discovered address to answer; silent: ${silent.join(', ')}`;
    } else if (peers.length < gate.minPeers) {
      outcome = `waiting for ${gate.minPeers} peers to answer; ${peers.length} did`;
    } else {
      const lowest = peers.reduce((best, p) => (p.name < best.name ? p : best), { addr: '', name: me });
      if (lowest.name === me) {
        this.#becomeFormed('lowest-name', undefined);
        this.#finishRound(
          pass,
          [],
          joins,
          `formed a new cluster: lowest name among ${peers.length + 1} (${[me, ...peers.map((p) => p.name)].join(', ')})`,
          this.#refreshDelay(pass),
        );
        return;
      }
      const ok = await this.#tryJoin(lowest.addr, joins);
      if (!this.#isActive()) return;
      if (ok) {
        this.#becomeFormed('joined', lowest.addr);
        this.#finishRound(
          pass,
          [lowest.addr],
          joins,
          `joined ${lowest.name}, the lowest name, at ${lowest.addr}`,
          this.#refreshDelay(pass),
        );
        return;
      }
      outcome = `could not join ${lowest.name} (the lowest name) at ${lowest.addr}`;
    }
    this.#log.debug('first-start gate: waiting', { outcome });
    this.#finishRound(pass, [], joins, outcome, this.#jittered(gate.probeIntervalMs));
  }

  async #tryJoin(addr: string, joins: JoinAttempt[]): Promise<boolean> {
    try {
      const n = await this.#o.target.join([addr]);
      joins.push({ addr, ok: n > 0 });
      return n > 0 && this.#hasPeer();
    } catch (e) {
      joins.push({ addr, ok: false, error: errorText(e) });
      return false;
    }
  }
}
