export { type Clock, RealClock, type Timer } from './clock.ts';
export { type Listener, TypedEmitter } from './emitter.ts';
export { type HeapEntry, TimerHeap } from './heap.ts';
export { type Random, SeededRandom } from './random.ts';
export { secureSeed } from './seed.ts';
export { StallableClock } from './stallable-clock.ts';
export { VirtualClock } from './virtual-clock.ts';
