/**
 * Go regular expressions for Serf's tag filters: a query's `-tag role=w.b` filter is a Go
 * regexp (RE2 syntax, Go `regexp/syntax` with Perl flags) matched, unanchored as
 * `regexp.MatchString`, against the local value of the tag.
 *
 * The expressions come from the network, so they run on `re2js`, a JavaScript port of RE2
 * (through RE2/J, itself a port of Go's `regexp`): the same syntax and meaning as Go (`.` stops
 * at `\n` only, ASCII `\s` and `\w`, `\pL`, `\p{Greek}`, POSIX classes, `(?i:…)`, `(?U)`,
 * `\Q…\E`, octal and `\x{…}` escapes), the same refusals (lookaround, backreferences, unknown
 * escapes, repeats over 1000), and matching in time linear in the input: no pattern can make a
 * node spend more than a bounded time per tag value (at most 512 bytes of metadata). The
 * JavaScript `RegExp` this replaced backtracks: `^(a+)+$` on 26 characters took seconds.
 *
 * One known leniency: re2js also takes `(?<name>…)` groups, which Go accepts since 1.22 only.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

/**
 * The engine, loaded on the first compile (synchronously, through `require`): most agents never
 * see a tag filter, and loading re2js (260 kB) cost every agent's start about 25 ms and 3 MiB.
 */
let engine: typeof RE2JS | undefined;
function re2(): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS;
  return engine;
}

/** A compiled Go regular expression. */
export interface GoRegexp {
  /** The expression as written. */
  readonly source: string;
  /** Go `MatchString`: whether the expression matches anywhere in `value`, in linear time. */
  test(value: string): boolean;
}

/** Compilation result: a matcher, or why there is none (`invalid`: Go rejects it too). */
export type GoRegexpResult =
  | { ok: true; regexp: GoRegexp }
  | { ok: false; reason: 'invalid'; detail: string };

/** Most compiled expressions cached (they recur in every query of a deployment). */
export const GO_REGEXP_CACHE_SIZE = 256;

/**
 * Longest expression compiled (in UTF-16 code units); longer ones are refused as `invalid`.
 * Matching is linear in the value but proportional to the compiled program's size too, and
 * compiling costs time as well: with RE2's repeat limit (1000), this bounds both. A filter
 * gossiped in a query fits in a datagram (1400 bytes) anyway; streams could carry longer ones.
 */
export const GO_REGEXP_MAX_LENGTH = 1024;

const cache = new Map<string, GoRegexpResult>();

/**
 * Compiles a Go regular expression. Results are cached, up to {@link GO_REGEXP_CACHE_SIZE}
 * expressions (the oldest forgotten first).
 */
export function compileGoRegexp(expr: string): GoRegexpResult {
  const hit = cache.get(expr);
  if (hit !== undefined) return hit;
  let result: GoRegexpResult;
  if (expr.length > GO_REGEXP_MAX_LENGTH) {
    result = { ok: false, reason: 'invalid', detail: `longer than ${GO_REGEXP_MAX_LENGTH} characters` };
  } else {
    try {
      const re = re2().compile(expr);
      result = { ok: true, regexp: { source: expr, test: (value) => re.test(value) } };
    } catch (e) {
      result = { ok: false, reason: 'invalid', detail: e instanceof Error ? e.message : String(e) };
    }
  }
  if (cache.size >= GO_REGEXP_CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(expr, result);
  return result;
}

/** Go `regexp.MatchString(expr, value)`: whether the expression matches anywhere in `value`. */
export function goRegexpMatch(expr: string, value: string): GoRegexpResult & { matched?: boolean } {
  const r = compileGoRegexp(expr);
  return r.ok ? { ...r, matched: r.regexp.test(value) } : r;
}
