/**
 * The broadcast family: point-to-point, eager reliable broadcast, push, pull and push-pull
 * gossip (push with rumor mongering), and Plumtree, behind one {@link BroadcastStrategy}
 * interface, with the theory each is measured against.
 */
import { eager } from './eager.ts';
import { plumtree } from './plumtree.ts';
import { pointToPoint } from './point-to-point.ts';
import { pull } from './pull.ts';
import { push } from './push.ts';
import { pushPull } from './push-pull.ts';
import type { BroadcastStrategy, StrategyName } from './strategy.ts';

export { BroadcastContext, type ContextFaults, type ContextStreams } from './context.ts';
export { EAGER_ENUMERATE_MAX_SENDS, eager } from './eager.ts';
export {
  buildOverlay,
  type Overlay,
  PLUMTREE_DEFAULT_GRAFT_TIMEOUT_ROUNDS,
  PLUMTREE_MAX_ANNOUNCERS,
  PLUMTREE_MAX_DEGREE,
  PLUMTREE_QUEUE_ENTRIES_PER_LINK,
  plumtree,
} from './plumtree.ts';
export { pointToPoint } from './point-to-point.ts';
export { pull } from './pull.ts';
export { push } from './push.ts';
export { pushPull } from './push-pull.ts';
export {
  type BroadcastStrategy,
  DEFAULT_MESSAGE_SIZES,
  MAX_FANOUT,
  MAX_RUMOR_K,
  MESSAGE_KIND_COUNT,
  MESSAGE_KIND_NAMES,
  MessageKind,
  type MessageSizes,
  type Prediction,
  plumtreeDefaultDegree,
  type RumorRemoval,
  STRATEGY_NAMES,
  type StrategyName,
  type StrategyParams,
  type StrategyRun,
} from './strategy.ts';
export { pickOther, pickTargets } from './targets.ts';
export {
  demersResidue,
  logBase,
  meanFieldCurve,
  PREDICTION_MAX_ROUNDS,
  pullRounds,
  pushPullRounds,
  pushRounds,
  roundTo,
} from './theory.ts';

/** Every strategy, by name. */
export const STRATEGIES: Readonly<Record<StrategyName, BroadcastStrategy>> = {
  'point-to-point': pointToPoint,
  eager,
  push,
  pull,
  'push-pull': pushPull,
  plumtree,
};
