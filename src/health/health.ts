/**
 * Liveness and readiness of a Serf node, for a platform's probes (Kubernetes `livenessProbe` and
 * `readinessProbe`, a load balancer's health check) and for an embedding service's own HTTP
 * server.
 *
 * - **Live**: the node runs (not shut down). It says nothing about the cluster, on purpose: a
 *   liveness failure restarts the process, which never fixes a network problem.
 * - **Ready**: the node has joined a cluster (it has seen another member alive since it started),
 *   or it is alone by choice (no seeds to join, or a bootstrap decision to form a new cluster),
 *   and it is not leaving. Once ready it stays ready while its peers come and go (readiness does
 *   not flap with the network); it turns not-ready for good when a shutdown begins, first thing,
 *   so that a platform stops routing to it before it leaves.
 *
 * Three ways to serve it: {@link HealthTracker.health} (a plain function), {@link healthResponse}
 * (status code and JSON body for any framework), {@link healthMiddleware} (Connect/Express and
 * `node:http`). The agent serves the same answers at `GET /v1/health/live` and `/v1/health/ready`.
 *
 * ```ts
 * const health = new HealthTracker(serf, { alone: seeds.length === 0 });
 * const server = http.createServer((req, res) => {
 *   if (healthMiddleware(health)(req, res)) return;   // /health/live, /health/ready
 *   app(req, res);
 * });
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Serf } from '../cluster/serf.ts';

/** Where a node is in its life, as readiness sees it. */
export type HealthState = 'starting' | 'joining' | 'ready' | 'leaving' | 'stopped';

/** What a health check answers (the JSON body of `/v1/health/live` and `/v1/health/ready`). */
export interface HealthReport {
  /** The process runs its node (false only once it has shut down). */
  live: boolean;
  /** Joined (or alone by choice) and not leaving. */
  ready: boolean;
  state: HealthState;
  /** Why it is (not) ready, in words for an operator. */
  reason: string;
  /** Members this node sees alive, itself included. */
  aliveMembers: number;
}

/** Anything that can report health (a {@link HealthTracker}, or an agent). */
export interface HealthSource {
  health(): HealthReport;
}

/** Options of a {@link HealthTracker}. */
export interface HealthTrackerOptions {
  /**
   * Ready without joining anyone: the node has no seeds and is meant to start a cluster (or to
   * run alone). {@link HealthTracker.markAlone} does the same later, e.g. when a bootstrap gate
   * decides this node forms a new cluster.
   * @default false
   */
  alone?: boolean;
}

/** Tracks a Serf node's readiness from its events. Construction subscribes; {@link close} unsubscribes. */
export class HealthTracker implements HealthSource {
  readonly #serf: Serf;
  #joined = false;
  #aloneReason: string | undefined;
  #leavingReason: string | undefined;
  readonly #unsubscribe: () => void;

  constructor(serf: Serf, options: HealthTrackerOptions = {}) {
    this.#serf = serf;
    if (options.alone) this.#aloneReason = 'alone by choice: no seeds to join';
    this.#unsubscribe = serf.on('member-join', (e) => {
      if (e.members.some((m) => m.name !== serf.name)) this.#joined = true;
    });
    // A tracker made after the join still counts it.
    if (serf.members().some((m) => m.name !== serf.name && m.status === 'alive')) this.#joined = true;
  }

  /** Ready without peers from now on, by choice (`reason` is shown in the report). */
  markAlone(reason: string): void {
    this.#aloneReason = reason;
  }

  /** Not ready from now on: a shutdown has begun (the first step of a graceful shutdown). */
  markLeaving(reason: string): void {
    this.#leavingReason ??= reason;
  }

  /** Whether a shutdown has begun. */
  get isLeaving(): boolean {
    return this.#leavingReason !== undefined;
  }

  health(): HealthReport {
    const serf = this.#serf;
    const state = serf.state;
    let aliveMembers = 0;
    for (const m of serf.members()) if (m.status === 'alive') aliveMembers++;
    const report = (live: boolean, s: HealthState, reason: string): HealthReport => ({
      live,
      ready: s === 'ready',
      state: s,
      reason,
      aliveMembers,
    });
    if (state === 'shutdown') return report(false, 'stopped', 'the node has shut down');
    if (this.#leavingReason !== undefined) return report(true, 'leaving', this.#leavingReason);
    if (state === 'leaving' || state === 'left') return report(true, 'leaving', 'the node left the cluster');
    if (state === 'created') return report(true, 'starting', 'the node has not started yet');
    if (this.#joined) return report(true, 'ready', 'joined a cluster');
    if (this.#aloneReason !== undefined) return report(true, 'ready', this.#aloneReason);
    return report(true, 'joining', 'no other member seen yet: joining through the seeds');
  }

  close(): void {
    this.#unsubscribe();
  }
}

/** The answer to a health check: 200 when the check passes, 503 when not, with the report. */
export function healthResponse(
  source: HealthSource,
  check: 'live' | 'ready',
): { status: 200 | 503; body: HealthReport } {
  const body = source.health();
  return { status: (check === 'live' ? body.live : body.ready) ? 200 : 503, body };
}

/** Paths of {@link healthMiddleware}. */
export interface HealthPaths {
  /** @default '/health/live' */
  live?: string;
  /** @default '/health/ready' */
  ready?: string;
}

/**
 * A request handler for `GET`/`HEAD` on the two health paths, for `node:http` and Connect-style
 * frameworks (Express). It answers and returns true for a health path; otherwise it calls `next`
 * when given (Express) and returns false (so a plain `node:http` server routes the request on).
 * The body is the {@link HealthReport} as JSON; `cache-control: no-store`.
 */
export function healthMiddleware(
  source: HealthSource,
  paths: HealthPaths = {},
): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => boolean {
  const livePath = paths.live ?? '/health/live';
  const readyPath = paths.ready ?? '/health/ready';
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const check = path === livePath ? 'live' : path === readyPath ? 'ready' : undefined;
    if (check === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next?.();
      return false;
    }
    const { status, body } = healthResponse(source, check);
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}
