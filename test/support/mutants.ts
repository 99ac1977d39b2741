/**
 * Mutants: deliberately broken protocol variants, each a bug the simulator's checkers exist to
 * catch. A mutant replaces one decision through the seams of the layer it breaks
 * (`src/membership/seams.ts`, `src/cluster/seams.ts`), for the nodes a predicate names, until
 * it is removed; the nodes it leaves alone run the production decision. Only tests install them: no option or
 * CLI flag reaches a seam.
 *
 * Each mutant names the checker that must catch it and a pattern of that checker's reason
 * string; `test/sim/mutants.test.ts` runs the sweep with each installed and asserts both.
 */
import type { SerfCore } from '../../src/cluster/core.ts';
import { installSerfSeams, productionSerfSeams } from '../../src/cluster/seams.ts';
import type { Core } from '../../src/membership/core.ts';
import { internState } from '../../src/membership/intern.ts';
import { isDeadOrLeft, type NodeState } from '../../src/membership/node-state.ts';
import { BroadcastPriority } from '../../src/membership/queue.ts';
import { installMembershipSeams, productionMembershipSeams } from '../../src/membership/seams.ts';
import { deadNode, type RefuteReason } from '../../src/membership/transitions.ts';
import type { MessageLeave, MessageUserEvent } from '../../src/wire/serf.ts';

/** A broken variant of the protocol. */
export interface Mutant {
  /** What a broken node does, in a few words. */
  readonly description: string;
  /** The checker that must catch it (a violation's `checker`). */
  readonly checker: string;
  /** What that checker's reason string says about it. */
  readonly reason: RegExp;
  /** Breaks the nodes `isMutant` names (all of this process's nodes are asked); returns the undo. */
  install(isMutant: (node: string) => boolean): () => void;
}

const production = productionMembershipSeams;

/** Every mutant, by name. */
export const MUTANTS = {
  'never-refutes': {
    description: 'a node that never refutes an accusation against itself',
    checker: 'refute',
    reason: /learned it was accused at incarnation \d+ \(its own was \d+\) but did not refute/,
    install: (isMutant) =>
      installMembershipSeams({
        refute: (core: Core, me: NodeState, accused: number, reason: RefuteReason) => {
          if (!isMutant(core.opts.name)) production.refute(core, me, accused, reason);
        },
      }),
  },
  'lowers-incarnation': {
    description: 'a node that lowers its incarnation when it refutes (counts down, not up)',
    checker: 'incarnation',
    reason:
      /held (n\d+) at incarnation \d+, then at \d+ \(refute event, now alive\); incarnations must not go backwards/,
    install: (isMutant) =>
      installMembershipSeams({
        refute: (core: Core, me: NodeState, accused: number, reason: RefuteReason) => {
          if (!isMutant(core.opts.name)) {
            production.refute(core, me, accused, reason);
            return;
          }
          const incarnation = Math.max(0, me.incarnation - 1);
          core.incarnation = incarnation;
          core.nodes.update(internState({ ...me, incarnation }));
          core.stats.refutes++;
          const body = {
            incarnation,
            node: me.name,
            addr: me.addr,
            port: me.port,
            meta: me.meta,
            vsn: me.vsn,
          };
          core.broadcast(me.name, { type: 'alive', body }, BroadcastPriority.self);
          core.events.emit('refute', { incarnation, accusedIncarnation: accused, reason });
        },
      }),
  },
  'dead-without-suspicion': {
    description: 'a node that declares a member dead as soon as a probe of it fails, without suspecting it',
    checker: 'dead-origin',
    reason: /declared (n\d+) dead at incarnation \d+ without having suspected it at that incarnation/,
    install: (isMutant) =>
      installMembershipSeams({
        probeFailed: (core: Core, target: NodeState) => {
          if (!isMutant(core.opts.name)) {
            production.probeFailed(core, target);
            return;
          }
          const st = core.nodes.get(target.name);
          if (st === undefined || isDeadOrLeft(st)) return;
          core.stats.deadDeclared++;
          deadNode(core, { incarnation: st.incarnation, node: st.name, from: core.opts.name });
          core.events.emit('dead', { member: core.nodes.member(st.name)!, confirmations: 0 });
        },
      }),
  },
  'drops-leave-intents': {
    description: 'a node that drops every leave intent it receives (gossiped or in a push-pull)',
    checker: 'member-status',
    reason: /holds? (n\d+) failed, .+ holds? it left \(\1 is down\)/,
    install: (isMutant) =>
      installSerfSeams({
        leaveIntentReceived: (core: SerfCore, msg: MessageLeave) =>
          isMutant(core.name) ? false : productionSerfSeams.leaveIntentReceived(core, msg),
      }),
  },
  'delivers-duplicate-events': {
    description: 'a node that delivers every copy of a user event it receives (no duplicate check)',
    checker: 'user-event',
    reason:
      /delivered user event \S+ \(event time \d+\) again at .*; a user event is delivered at most once per node/,
    install: (isMutant) =>
      installSerfSeams({
        userEventReceived: (core: SerfCore, msg: MessageUserEvent) => {
          if (!isMutant(core.name)) return productionSerfSeams.userEventReceived(core, msg);
          core.eventClock.witness(msg.lTime);
          core.stats.userEvents++;
          const payload = msg.payload ?? new Uint8Array(0);
          core.emitEvent({ type: 'user', lTime: msg.lTime, name: msg.name, payload, coalesce: msg.cc });
          return false; // not gossiped on: gossiping every copy would never stop
        },
      }),
  },
} satisfies Record<string, Mutant>;

/** A mutant's name. */
export type MutantName = keyof typeof MUTANTS;
