/**
 * Where the spread view draws each node: on a ring, the local node at the top and the others
 * clockwise by name, so a node keeps its place from one trace to the next. Pure and DOM-free.
 */

export interface NodePosition {
  name: string;
  x: number;
  y: number;
  /** Angle in radians, 0 at the top, clockwise. */
  angle: number;
}

export interface RingLayout {
  nodes: NodePosition[];
  /** Node radius, smaller as the ring fills. */
  nodeRadius: number;
  /** Whether labels fit beside the nodes. */
  showLabels: boolean;
  cx: number;
  cy: number;
  radius: number;
}

/** Nodes on the ring above which names are shown only on hover. */
export const LABELS_MAX = 24;

/**
 * Lays out `names` on a ring of `radius` around (`cx`, `cy`). `local`, when among the names,
 * goes first (at the top); the others follow in name order.
 */
export function ringLayout(names: readonly string[], local: string | undefined, size = 400): RingLayout {
  const cx = size / 2;
  const cy = size / 2;
  const sorted = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ordered =
    local !== undefined && sorted.includes(local) ? [local, ...sorted.filter((n) => n !== local)] : sorted;
  const n = ordered.length;
  const showLabels = n <= LABELS_MAX;
  const radius = size * (showLabels ? 0.34 : 0.42);
  // Neighbours must not overlap: the chord between two is 2r·sin(π/n).
  const chord = n > 1 ? 2 * radius * Math.sin(Math.PI / n) : radius;
  const nodeRadius = Math.max(2.5, Math.min(16, chord * 0.32));
  const nodes = ordered.map((name, i) => {
    const angle = n > 0 ? (2 * Math.PI * i) / n : 0;
    return { name, angle, x: cx + radius * Math.sin(angle), y: cy - radius * Math.cos(angle) };
  });
  return { nodes, nodeRadius, showLabels, cx, cy, radius };
}

/** Where a label goes: outside the ring, anchored so it reads away from the centre. */
export function labelPlacement(
  p: NodePosition,
  layout: RingLayout,
  gap: number,
): { x: number; y: number; anchor: 'start' | 'middle' | 'end' } {
  const r = layout.radius + layout.nodeRadius + gap;
  const x = layout.cx + r * Math.sin(p.angle);
  const y = layout.cy - r * Math.cos(p.angle);
  const s = Math.sin(p.angle);
  const anchor = Math.abs(s) < 0.2 ? 'middle' : s > 0 ? 'start' : 'end';
  return { x, y, anchor };
}
