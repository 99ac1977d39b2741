/** The membership layer: memberlist-compatible SWIM with the Lifeguard extensions. */
export { Awareness } from './awareness.ts';
export type { MemberlistStats } from './core.ts';
export type { MemberlistDelegate, MemberlistEvents } from './delegate.ts';
export { PUSH_PULL_SCALE_THRESHOLD, pushPullScaleMs, retransmitLimit, suspicionTimeoutMs } from './math.ts';
export {
  type Lifecycle,
  Memberlist,
  type MemberlistInit,
  type PeekedMember,
  type SignalOptions,
} from './memberlist.ts';
export type { Member, NodeStatus } from './node-state.ts';
export {
  defaultLanTuning,
  defaultLocalTuning,
  defaultOptions,
  defaultWanTuning,
  type MemberlistOptions,
  type MemberlistTuning,
  type ProfileName,
  profileTuning,
  validateOptions,
} from './options.ts';
export { type BroadcastOptions, BroadcastPriority, TransmitLimitedQueue } from './queue.ts';
export { Suspicion } from './suspicion.ts';
