/**
 * The formulas of memberlist's `util.go`, ported from its code (not its comments) and pinned by
 * memberlist's own table tests in test/membership/units.test.ts.
 */

/** Clusters up to this size push-pull at the base interval (memberlist `pushPullScaleThreshold`). */
export const PUSH_PULL_SCALE_THRESHOLD = 32;

/**
 * Transmissions of one broadcast: `mult × ceil(log10(n + 1))`. (memberlist's comment says
 * `log(N+1)`; its code uses log10.)
 */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/**
 * Minimum suspicion timeout in ms: `mult × max(1, log10(max(1, n))) × interval`, with the node
 * scale rounded down to 1/1000 as memberlist's integer durations do.
 */
export function suspicionTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  // Go: Duration(mult) * Duration(nodeScale*1000) * interval / 1000, integer nanoseconds.
  const intervalNs = Math.round(probeIntervalMs * 1e6);
  const ns = Math.floor((suspicionMult * Math.floor(nodeScale * 1000) * intervalNs) / 1000);
  return ns / 1e6;
}

/** The push-pull interval for a cluster of `n`: scaled up (log2) above 32 members. */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= PUSH_PULL_SCALE_THRESHOLD) return intervalMs;
  const multiplier = Math.ceil(Math.log2(n) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1;
  return multiplier * intervalMs;
}

/**
 * Lifeguard: the suspicion timeout after `confirmations` independent confirmations of `k`
 * expected: `max − (max − min) × ln(c + 1) / ln(k + 1)`, floored to whole ms, never below `min`.
 */
export function suspicionTimeoutAfter(
  confirmations: number,
  k: number,
  minMs: number,
  maxMs: number,
): number {
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  const raw = maxMs / 1000 - frac * (maxMs / 1000 - minMs / 1000);
  const timeout = Math.floor(1000 * raw);
  return Math.max(timeout, minMs);
}
