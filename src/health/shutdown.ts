/**
 * Graceful shutdown as one budgeted sequence, for SIGTERM (Kubernetes sends it, then SIGKILL
 * after `terminationGracePeriodSeconds`, 30 s by default):
 *
 * 1. **not ready**: readiness fails first (`HealthTracker.markLeaving`), so the platform stops
 *    routing to the node while it still answers;
 * 2. **leave**: Serf's leave (its leave intent and memberlist's leave message go out, each fully
 *    retransmitted by us, then `leavePropagateDelayMs` of answering probes);
 * 3. **spread**: stay up until the leave has had time to reach every member (estimate below), so
 *    that no member that has not heard of it yet probes a closed port and declares us failed;
 * 4. **stop**, by a deadline that leaves an exit margin inside the grace period. Whatever is not
 *    done by the deadline is cut short (the leave is aborted), never the exit.
 *
 * The spread estimate (a push broadcast with fanout `k = gossipNodes`, one round per
 * `gossipIntervalMs`, on a complete graph of `n` members) is the rumor-spreading bound of Pittel
 * (1987) and Frieze & Grimmett (1985), for `k > 1` Panagiotou, Pourmiri & Sauerwald (2015):
 *
 *     rounds(n, k) = log_{1+k}(n) + ln(n) / k          (src/broadcast/theory.ts pushRounds)
 *     spread       = ceil(rounds(n, k)) × gossipIntervalMs
 *
 * e.g. n = 10, k = 3, 200 ms (LAN): ceil(1.66 + 0.77) = 3 rounds, 600 ms; n = 1000: ceil(4.98 +
 * 2.30) = 8 rounds, 1.6 s. It assumes every informed member keeps forwarding; memberlist stops
 * after `retransmitMult × ceil(log10(n + 1))` transmissions per member, i.e. that many / k rounds,
 * which is above `rounds(n, k)` for the default multipliers (4: 8 transmissions for n = 10, 12 for
 * n = 100...1000). Piggybacking on probes only speeds it up. Leave messages ride at the front of
 * every packet (our queue's leave priority), so a busy queue does not delay them.
 *
 * How long our own part takes (for the budget check): each of Serf's two messages is done after
 * our `retransmitLimit` transmissions at `k` per gossip round, then the propagate delay:
 *
 *     leave ≈ 2 × ceil(retransmitLimit(n) / k) × gossipIntervalMs + leavePropagateDelayMs
 *
 * The sequence waits from the start of the leave until `max(leave, spread)` has passed.
 */
import { pushRounds } from '../broadcast/theory.ts';
import type { Serf } from '../cluster/serf.ts';
import type { Logger } from '../log.ts';
import { retransmitLimit } from '../membership/math.ts';
import { type Clock, RealClock } from '../runtime/clock.ts';
import type { HealthTracker } from './health.ts';

/** The smallest exit margin kept inside the grace period: time to close HTTP and exit. */
export const SHUTDOWN_EXIT_MARGIN_MIN_MS = 1000;
/** The exit margin as a share of the grace period (10 %: 3 s of Kubernetes' default 30 s). */
export const SHUTDOWN_EXIT_MARGIN_SHARE = 0.1;
/** The shortest grace period accepted: less cannot fit a leave (one gossip round and the margin). */
export const SHUTDOWN_GRACE_MIN_MS = 2000;

/**
 * Milliseconds for a leave to reach all `members` by push gossip with fanout `gossipNodes`, one
 * round per `gossipIntervalMs` (see the file comment). 0 when there is nobody to tell.
 */
export function leaveSpreadMs(members: number, gossipIntervalMs: number, gossipNodes: number): number {
  if (members <= 1 || gossipNodes <= 0) return 0;
  return Math.ceil(pushRounds(members, gossipNodes)) * gossipIntervalMs;
}

/** What a shutdown sequence plans to do, and whether it fits the grace period. */
export interface ShutdownPlan {
  /** The platform's grace period (ms): SIGKILL comes after it. */
  gracePeriodMs: number;
  /** Kept at the end for closing and exiting. */
  exitMarginMs: number;
  /** `gracePeriodMs - exitMarginMs`: everything before the stop must end by then. */
  deadlineMs: number;
  /** Members alive when the shutdown began, ourselves included. */
  members: number;
  /** How long our own leave should take (both messages retransmitted, then the propagate delay). */
  leaveMs: number;
  /** How long the leave needs to reach every member ({@link leaveSpreadMs}). */
  spreadMs: number;
  /** `max(leaveMs, spreadMs)`: when, after the leave began, the node may stop. */
  stayMs: number;
  /** Whether `stayMs` fits before the deadline. */
  fits: boolean;
}

/** Timing a plan is computed from: the node's options. */
export interface ShutdownTiming {
  gossipIntervalMs: number;
  gossipNodes: number;
  retransmitMult: number;
  leavePropagateDelayMs: number;
}

/** The budget of a shutdown of a node that sees `members` alive (itself included). */
export function planShutdown(gracePeriodMs: number, members: number, t: ShutdownTiming): ShutdownPlan {
  const exitMarginMs = Math.max(
    SHUTDOWN_EXIT_MARGIN_MIN_MS,
    Math.round(gracePeriodMs * SHUTDOWN_EXIT_MARGIN_SHARE),
  );
  const deadlineMs = Math.max(0, gracePeriodMs - exitMarginMs);
  const others = members > 1;
  const roundsPerMessage =
    t.gossipNodes > 0 ? Math.ceil(retransmitLimit(t.retransmitMult, members) / t.gossipNodes) : 0;
  const leaveMs = others ? 2 * roundsPerMessage * t.gossipIntervalMs + t.leavePropagateDelayMs : 0;
  const spreadMs = leaveSpreadMs(members, t.gossipIntervalMs, t.gossipNodes);
  const stayMs = Math.max(leaveMs, spreadMs);
  return {
    gracePeriodMs,
    exitMarginMs,
    deadlineMs,
    members,
    leaveMs,
    spreadMs,
    stayMs,
    fits: stayMs <= deadlineMs,
  };
}

/** How a shutdown went. */
export interface ShutdownResult {
  plan: ShutdownPlan;
  /** The leave completed (its messages went out) before the deadline. */
  leftGracefully: boolean;
  /** Time from the start to the end of the stop (ms). */
  elapsedMs: number;
  /** Set when the leave failed or was cut short. */
  error?: string;
}

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /**
   * The platform's grace period (Kubernetes `terminationGracePeriodSeconds`, in ms); the
   * sequence ends its stop by this minus the exit margin.
   * @default 30000
   */
  gracePeriodMs?: number;
  /** Marked not-ready first. */
  health?: HealthTracker;
  /** What stops the node in the end. @default `serf.shutdown()` */
  stop?: () => Promise<void>;
  /** @default a real clock */
  clock?: Clock;
  logger?: Logger;
}

/**
 * Runs the sequence of the file comment on `serf` and resolves when the node has stopped. Never
 * rejects for a failed leave (it logs and stops anyway): a shutdown must end.
 *
 * It does not install signal handlers: call it from yours, beside the rest of your service's
 * shutdown (`server.close()`, draining queues), e.g.
 * `process.once('SIGTERM', () => gracefulShutdown(serf, { health }).then(() => process.exit(0)))`.
 */
export async function gracefulShutdown(
  serf: Serf,
  options: GracefulShutdownOptions = {},
): Promise<ShutdownResult> {
  const clock = options.clock ?? new RealClock();
  const log = options.logger;
  const started = clock.now();
  let members = 0;
  for (const m of serf.members()) if (m.status === 'alive') members++;
  const o = { ...serf.memberlist.options, ...serf.options };
  const plan = planShutdown(options.gracePeriodMs ?? 30_000, Math.max(1, members), o);
  options.health?.markLeaving('shutting down: leaving the cluster');
  log?.info('shutdown: not ready; leaving the cluster', {
    members: plan.members,
    leaveMs: plan.leaveMs,
    spreadMs: plan.spreadMs,
    deadlineMs: plan.deadlineMs,
  });
  if (!plan.fits) {
    log?.warn(
      `shutdown: the leave needs about ${plan.stayMs} ms to reach all ${plan.members} members, more than the ${plan.deadlineMs} ms before the deadline; raise the grace period (e.g. terminationGracePeriodSeconds and --shutdown-grace) or peers may see this node fail`,
    );
  }
  const deadlineAt = started + plan.deadlineMs;
  const abort = new AbortController();
  const cut = clock.setTimer(plan.deadlineMs, () =>
    abort.abort(new Error('the shutdown deadline came first')),
  );
  let leftGracefully = false;
  let error: string | undefined;
  const leaveStarted = clock.now();
  if (serf.state === 'alive') {
    try {
      await serf.leave({ signal: abort.signal });
      leftGracefully = true;
    } catch (e) {
      error = (e as Error).message;
      log?.warn('shutdown: the leave did not complete; stopping anyway', { error });
    }
  } else {
    leftGracefully = serf.state === 'left';
  }
  const stayUntil = Math.min(leaveStarted + plan.stayMs, deadlineAt);
  const waitMs = stayUntil - clock.now();
  if (leftGracefully && waitMs > 0) {
    log?.info('shutdown: left; staying up while the leave spreads', { waitMs: Math.round(waitMs) });
    await new Promise<void>((resolve) => clock.setTimer(waitMs, resolve));
  }
  cut.cancel();
  await (options.stop ?? (() => serf.shutdown()))();
  const elapsedMs = clock.now() - started;
  return { plan, leftGracefully, elapsedMs, ...(error !== undefined ? { error } : {}) };
}
