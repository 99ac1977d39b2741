/**
 * Classic-BPF programs for `tc filter ... bpf da bytecode "..."`: the packet faults of the
 * network-namespace tests (this kernel has neither netem nor iptables/nft, but `cls_bpf` runs
 * classic BPF in direct-action mode, where the program's return value is the verdict).
 *
 * A program sees the frame from its Ethernet header on both hooks (`cls_bpf` pushes the MAC
 * header back before running at ingress), so the IPv4 header starts at byte 14. It returns
 * TC_ACT_SHOT (2) to drop and TC_ACT_UNSPEC (-1) to pass the packet on to the next filter (and
 * then through), so that several rules stack on one hook.
 *
 * A {@link PacketRule} drops IPv4 packets that match every field it sets: the protocol, a port
 * (source or destination: both directions of a TCP connection to it), a range of destination
 * addresses, and a fraction taken from the kernel's per-packet random word (`ld rand`, the
 * SKF_AD_RANDOM ancillary load). Everything else (ARP, other ports) passes, so the tests'
 * own HTTP and RPC traffic to the agents is never touched by a gossip-port rule.
 */

/** What one filter drops; an unset field matches everything. */
export interface PacketRule {
  /** IP protocol. @default 'any' (UDP and TCP alike when `port` is set) */
  proto?: 'udp' | 'tcp' | 'any';
  /** Matches when the source or the destination port is this one (UDP or TCP). */
  port?: number;
  /** Matches when the IPv4 destination is in `[from, to]` (dotted quads, inclusive). */
  dstRange?: [string, string];
  /** The fraction of matching packets dropped, in (0, 1]. @default 1 */
  fraction?: number;
}

/** A classic-BPF instruction: opcode, jump-if-true, jump-if-false, constant. */
type Insn = [code: number, jt: number | string, jf: number | string, k: number];

const LD_W_ABS = 0x20;
const LD_H_ABS = 0x28;
const LD_B_ABS = 0x30;
const LD_H_IND = 0x48;
const LDX_B_MSH = 0xb1;
const JEQ_K = 0x15;
const JGT_K = 0x25;
const JGE_K = 0x35;
const RET_K = 0x06;
/** SKF_AD_OFF (-0x1000) + SKF_AD_RANDOM (56), as an unsigned 32-bit offset. */
const SKF_AD_RANDOM = (2 ** 32 - 0x1000 + 56) >>> 0;
const TC_ACT_UNSPEC = 2 ** 32 - 1;
const TC_ACT_SHOT = 2;
const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;

/** A dotted quad as an unsigned 32-bit number (what `ld [k]` loads: network order). */
export function ipv4ToU32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: "${ip}"`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/**
 * The rule as `tc`'s bytecode argument: `N,code jt jf k,...`. Jumps are written with labels
 * ('pass', 'match', 'drop') and resolved to forward offsets here.
 */
export function ruleBytecode(rule: PacketRule): string {
  const fraction = rule.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`fraction must be in (0, 1]; got ${fraction}`);
  const proto = rule.proto ?? 'any';
  const prog: Insn[] = [];
  const labels = new Map<string, number>();
  const label = (name: string) => labels.set(name, prog.length);
  // IPv4 only; everything else passes.
  prog.push([LD_H_ABS, 0, 0, 12], [JEQ_K, 0, 'pass', ETH_P_IP]);
  if (proto !== 'any' || rule.port !== undefined) {
    prog.push([LD_B_ABS, 0, 0, ETH_HLEN + 9]);
    if (proto === 'udp') prog.push([JEQ_K, 0, 'pass', 17]);
    else if (proto === 'tcp') prog.push([JEQ_K, 0, 'pass', 6]);
    else prog.push([JEQ_K, 'ports', 0, 17], [JEQ_K, 0, 'pass', 6]);
  }
  label('ports');
  if (rule.port !== undefined) {
    if (!Number.isInteger(rule.port) || rule.port < 1 || rule.port > 65535) {
      throw new Error(`port must be 1..65535; got ${rule.port}`);
    }
    // X = IP header length; the ports are the first two half-words after it.
    prog.push(
      [LDX_B_MSH, 0, 0, ETH_HLEN],
      [LD_H_IND, 0, 0, ETH_HLEN],
      [JEQ_K, 'dst', 0, rule.port],
      [LD_H_IND, 0, 0, ETH_HLEN + 2],
      [JEQ_K, 0, 'pass', rule.port],
    );
  }
  label('dst');
  if (rule.dstRange) {
    const [from, to] = rule.dstRange.map(ipv4ToU32) as [number, number];
    if (from > to) throw new Error(`empty address range ${rule.dstRange.join('..')}`);
    prog.push([LD_W_ABS, 0, 0, ETH_HLEN + 16], [JGE_K, 0, 'pass', from], [JGT_K, 'pass', 0, to]);
  }
  if (fraction < 1) {
    // Drop when the random word is below fraction x 2^32.
    prog.push([LD_W_ABS, 0, 0, SKF_AD_RANDOM], [JGE_K, 'pass', 0, Math.floor(fraction * 2 ** 32)]);
  }
  prog.push([RET_K, 0, 0, TC_ACT_SHOT]);
  label('pass');
  prog.push([RET_K, 0, 0, TC_ACT_UNSPEC]);
  const resolve = (at: number, j: number | string): number => {
    if (typeof j === 'number') return j;
    const to = labels.get(j);
    if (to === undefined) throw new Error(`no label ${j}`);
    const off = to - at - 1;
    if (off < 0 || off > 255) throw new Error(`jump to ${j} out of range`);
    return off;
  };
  const words = prog.map(([code, jt, jf, k], i) => `${code} ${resolve(i, jt)} ${resolve(i, jf)} ${k >>> 0}`);
  return `${prog.length},${words.join(',')}`;
}
