/** Number, size, time and duration formatting for the dashboard. Pure and DOM-free. */

/** `1234.5` → `1.2k`; small values keep one decimal. */
export function compact(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return trim(n);
}

function trim(n: number): string {
  return n.toFixed(1).replace(/\.0$/, '');
}

/** Bytes in binary units: `1536` → `1.5 KiB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(v)) : v >= 100 ? String(Math.round(v)) : trim(v);
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

/** A duration in ms for humans: `850 ms`, `4.2 s`, `3m 05s`, `2h 07m`, `3d 4h`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${trim(s)} s`;
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(sec)}s`;
}

/** How long ago `at` was, relative to `now` (both ms since the epoch). */
export function ago(at: number, now: number): string {
  const ms = Math.max(0, now - at);
  if (ms < 1500) return 'just now';
  return `${duration(Math.round(ms / 1000) * 1000)} ago`;
}

/** `HH:MM:SS` in local time, with milliseconds when asked. */
export function clock(at: number, withMs = false): string {
  const d = new Date(at);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${base}.${String(d.getMilliseconds()).padStart(3, '0')}` : base;
}

/** Round-trip time: `0.4 ms`, `12 ms`. */
export function rtt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
