/**
 * Extensions: layers above Serf (the replicated state, `src/state`) that speak messages of
 * their own, but only to members that understand them. A cluster can mix our nodes with real
 * `serf agent`s, and a Serf agent must never receive what it cannot parse: memberlist logs an
 * unknown packet type as an error, Serf an unknown message type as a warning.
 *
 * How our nodes recognise each other: each extension names a *capability*, which Serf puts in
 * our node metadata after the tag map, as a second msgpack map `{name: version}` (see
 * `encodeTags` in `src/wire/serf.ts`). Serf decodes the tag map with a stream decoder and never
 * looks past it, so a Serf agent sees our tags and nothing else, and passes the metadata on
 * unchanged when it gossips about us. A member whose metadata advertises the capability is
 * ours; every Serf agent advertises nothing.
 *
 * What an extension gets:
 * - **messages**: a Serf-level message type byte of its own (at or above
 *   {@link EXTENSION_MESSAGE_TYPE_MIN}, far above Serf's 0–9); a memberlist user message whose
 *   first byte is it goes to {@link SerfExtension.handleMessage}, whether it came in a packet
 *   or over a stream. The extension sends with {@link ExtensionContext.sendPacket} and
 *   {@link ExtensionContext.sendStream}, and must send only to members that advertise its
 *   capability ({@link ExtensionContext.capabilities}).
 * - **broadcasts**: after Serf's own queues, each packet's spare room is offered to
 *   {@link SerfExtension.getBroadcasts} with the address it goes to; the extension hands out
 *   nothing for a member that is not ours.
 * - the Serf's clock, a random stream forked from the Serf's, its logger, and start/stop with
 *   the Serf's own lifecycle.
 *
 * Contract of every hook: called synchronously on the protocol's thread, must return promptly
 * and must not throw (a throw is caught and logged). Byte arrays handed in may be retained but
 * not mutated.
 */
import type { Logger } from '../log.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Random } from '../runtime/random.ts';
import type { Addr } from '../transport/transport.ts';

/** The lowest message type byte an extension may claim (Serf's own types are 0–9). */
export const EXTENSION_MESSAGE_TYPE_MIN = 0x40;

/** Longest capability name (a few bytes of everyone's 512-byte metadata each). */
export const CAPABILITY_NAME_MAX_CHARS = 16;

/** A layer above Serf with messages of its own. See the file comment. */
export interface SerfExtension {
  /** The capability advertised in our metadata: a short name (at most 16 characters). */
  readonly capability: string;
  /** Its version (an integer in [0, 2^31)); peers can refuse versions they do not speak. */
  readonly capabilityVersion: number;
  /** The message type byte this extension owns, in [{@link EXTENSION_MESSAGE_TYPE_MIN}, 255]. */
  readonly messageType: number;
  /** A message of `messageType` arrived (the whole payload, type byte included) from `from`. */
  handleMessage(payload: Uint8Array, from: Addr): void;
  /**
   * Broadcasts for one packet to `to`, within `limit` bytes, each costing `overhead` more
   * (as memberlist's delegate hook). Each returned payload must start with `messageType`.
   */
  getBroadcasts?(overhead: number, limit: number, to: Addr): Uint8Array[];
  /**
   * Whether {@link getBroadcasts} could hand out anything now (for anyone). Without it, an
   * extension with `getBroadcasts` is asked on every gossip round; with it, an idle cluster's
   * rounds ask nobody (see `MemberlistDelegate.broadcastsPending`).
   */
  broadcastsPending?(): boolean;
  /** The Serf started (timers may be set from now on). */
  start?(): void;
  /** The Serf is shutting down (cancel every timer). */
  stop?(): void;
}

/** What the Serf gives an extension when it registers. */
export interface ExtensionContext {
  /** This node's name. */
  readonly name: string;
  readonly clock: Clock;
  /** A random stream of the extension's own, forked from the Serf's (so runs replay from a seed). */
  readonly random: Random;
  readonly logger: Logger;
  /**
   * Bytes of payload that fit one packet for {@link sendPacket}: memberlist's UDP buffer less
   * the framing (compound, user-message type byte, CRC, encryption).
   */
  readonly packetPayloadBytes: number;
  /** Sends a message in one UDP packet (memberlist `SendBestEffort`); dropped while not running. */
  sendPacket(to: Addr, payload: Uint8Array): void;
  /**
   * Sends a message over a stream (memberlist `SendReliable`): for anything larger than a
   * packet. Resolves when written; rejects when the stream fails or the node is not running.
   */
  sendStream(to: Addr, payload: Uint8Array): Promise<void>;
  /** The capabilities `member` advertises (empty for a Serf agent), or undefined if unknown. */
  capabilities(member: string): Readonly<Record<string, number>> | undefined;
}
