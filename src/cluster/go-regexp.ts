/**
 * Go regular expressions (RE2 syntax, Go `regexp/syntax`) translated to JavaScript `RegExp`s,
 * for Serf's tag filters: a query's `-tag role=w.b` filter is a Go regexp matched (unanchored,
 * `regexp.MatchString`) against the local value of the tag.
 *
 * The translation targets `u`-mode JavaScript and keeps Go's meaning where the two differ:
 * - `.` does not match `\n` but does match `\r` (JS `.` also stops at `\r`, U+2028, U+2029);
 * - `\s` is `[\t\n\f\r ]` and `\w` is `[0-9A-Za-z_]`, ASCII only as in Go;
 * - `\A`, `\z`, `\Q…\E`, octal escapes (`\012`), `\x{10FFFF}`, `\pL`, `\p{Greek}` (scripts),
 *   POSIX classes (`[[:alpha:]]`, `[[:^digit:]]` alone in a class), `(?P<name>…)`, a leading
 *   `(?i)`/`(?m)`/`(?s)`, escaped punctuation (`\-`, `\!`), and literal `{`, `}`, `]` where Go
 *   reads them as text.
 *
 * What Go rejects is rejected here too (`invalid`): lookaround, backreferences, unknown escapes.
 *
 * Gaps (`unsupported`, so the filter does not match, and the querier is told): flag groups
 * other than a leading one (`a(?i)b`, `(?i:b)`), the ungreedy flag `U`, and a negated POSIX
 * class inside a larger class. Matching semantics differ in two harmless ways: JavaScript
 * backtracks (a pathological pattern is slow rather than linear, bounded by the 512-byte tag
 * values it runs on), and `\S`, `\W`, `\D` inside a class use JavaScript's (Unicode) sets.
 */

/** Translation result: a RegExp, or why there is none. */
export type GoRegexpResult =
  | { ok: true; regexp: RegExp }
  | { ok: false; reason: 'invalid' | 'unsupported'; detail: string };

/** Most compiled expressions cached (they recur in every query of a deployment). */
export const GO_REGEXP_CACHE_SIZE = 256;

/** Go's largest repeat count (`{n,m}` with n or m above it is an error). */
const MAX_REPEAT = 1000;

class TranslateError extends Error {
  constructor(
    readonly reason: 'invalid' | 'unsupported',
    detail: string,
  ) {
    super(detail);
  }
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7f',
  blank: '\\t ',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const SPACE = '\\t\\n\\f\\r ';
const WORD = '0-9A-Za-z_';

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function isWordChar(c: string): boolean {
  return /[0-9A-Za-z_]/.test(c);
}

/** Translates a Go regexp into JavaScript source and flags. Throws {@link TranslateError}. */
function translate(expr: string): { source: string; flags: string } {
  const chars = [...expr];
  let i = 0;
  let flags = 'u';
  let dotAll = false;
  const out: string[] = [];

  // Leading flag groups: `(?i)`, `(?ms)`, ... apply to the whole expression.
  for (;;) {
    const m = /^\(\?([imsU-]+)\)/.exec(chars.slice(i).join(''));
    if (!m) break;
    const spec = m[1]!;
    if (spec.includes('-') || spec.includes('U')) {
      throw new TranslateError('unsupported', `flag group (?${spec}) (only i, m and s, at the start)`);
    }
    for (const f of spec) {
      if (f === 's') dotAll = true;
      if (!flags.includes(f)) flags += f;
    }
    i += m[0].length;
  }

  const peek = (k = 0) => chars[i + k];

  /** One escape after `\`, outside (`inClass` false) or inside a class. */
  const parseEscape = (inClass: boolean): string => {
    const c = chars[i++];
    if (c === undefined) throw new TranslateError('invalid', 'trailing backslash');
    switch (c) {
      case 'a':
        return '\\x07';
      case 'f':
        return '\\f';
      case 't':
        return '\\t';
      case 'n':
        return '\\n';
      case 'r':
        return '\\r';
      case 'v':
        return '\\v';
      case 'd':
        return inClass ? '0-9' : '[0-9]';
      case 'D':
        return inClass ? '\\D' : '[^0-9]';
      case 'w':
        return inClass ? WORD : `[${WORD}]`;
      case 'W':
        return inClass ? '\\W' : `[^${WORD}]`;
      case 's':
        return inClass ? SPACE : `[${SPACE}]`;
      case 'S':
        return inClass ? '\\S' : `[^${SPACE}]`;
      case 'b':
      case 'B':
        if (inClass) throw new TranslateError('invalid', `\\${c} inside a character class`);
        return `\\${c}`;
      case 'A':
        if (inClass) throw new TranslateError('invalid', '\\A inside a character class');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) throw new TranslateError('invalid', '\\z inside a character class');
        return '(?![\\s\\S])';
      case 'x': {
        if (peek() === '{') {
          const end = chars.indexOf('}', i);
          const digits = chars.slice(i + 1, end).join('');
          if (end < 0 || !/^[0-9A-Fa-f]+$/.test(digits) || Number.parseInt(digits, 16) > 0x10ffff) {
            throw new TranslateError('invalid', 'bad \\x{...} escape');
          }
          i = end + 1;
          return hex(Number.parseInt(digits, 16));
        }
        const digits = chars.slice(i, i + 2).join('');
        if (!/^[0-9A-Fa-f]{2}$/.test(digits)) throw new TranslateError('invalid', 'bad \\x escape');
        i += 2;
        return hex(Number.parseInt(digits, 16));
      }
      case 'p':
      case 'P': {
        let name: string;
        if (peek() === '{') {
          const end = chars.indexOf('}', i);
          if (end < 0) throw new TranslateError('invalid', `unclosed \\${c}{`);
          name = chars.slice(i + 1, end).join('');
          i = end + 1;
        } else {
          name = chars[i++] ?? '';
        }
        let negated = c === 'P';
        if (name.startsWith('^')) {
          negated = !negated;
          name = name.slice(1);
        }
        if (!/^[A-Za-z_]+$/.test(name)) throw new TranslateError('invalid', `bad Unicode class \\p{${name}}`);
        const prop = name.length <= 2 || name === 'Any' ? name : `Script=${name}`;
        return `\\${negated ? 'P' : 'p'}{${prop}}`;
      }
      case 'Q': {
        if (inClass) throw new TranslateError('invalid', '\\Q inside a character class');
        let lit = '';
        while (i < chars.length && !(chars[i] === '\\' && chars[i + 1] === 'E')) lit += literal(chars[i++]!);
        if (i < chars.length) i += 2;
        return lit;
      }
      case 'E':
        // A stray \E is ignored by Go.
        return '';
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      // Go: \0 plus up to two octal digits; \1-\7 only when another octal digit follows (no backreferences).
      if (c !== '0' && !(peek() !== undefined && peek()! >= '0' && peek()! <= '7')) {
        throw new TranslateError('invalid', `backreference \\${c} (Go has none)`);
      }
      let digits = c;
      while (digits.length < 3 && peek() !== undefined && peek()! >= '0' && peek()! <= '7')
        digits += chars[i++];
      return hex(Number.parseInt(digits, 8));
    }
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !isWordChar(c)) return hex(cp);
    throw new TranslateError('invalid', `unknown escape \\${c}`);
  };

  /** A literal character, escaped for JavaScript when needed. */
  function literal(c: string): string {
    return /[\\^$.*+?()[\]{}|/-]/.test(c) ? hex(c.codePointAt(0)!) : c;
  }

  const charClass = (): string => {
    // `[` consumed.
    let negate = false;
    if (peek() === '^') {
      negate = true;
      i++;
    }
    const body: string[] = [];
    let first = true;
    for (;;) {
      const c = chars[i];
      if (c === undefined) throw new TranslateError('invalid', 'missing closing ]');
      if (c === ']' && !first) {
        i++;
        break;
      }
      first = false;
      if (c === '[' && peek(1) === ':') {
        const end = chars.indexOf(']', i + 2);
        const spec = end > 0 && chars[end - 1] === ':' ? chars.slice(i + 2, end - 1).join('') : undefined;
        if (spec !== undefined) {
          const neg = spec.startsWith('^');
          const set = POSIX[neg ? spec.slice(1) : spec];
          if (set === undefined) throw new TranslateError('invalid', `unknown POSIX class [:${spec}:]`);
          i = end + 1;
          if (neg) {
            // Only expressible when it is the whole class.
            if (body.length === 0 && chars[i] === ']' && !negate) {
              i++;
              return `[^${set}]`;
            }
            throw new TranslateError('unsupported', `negated POSIX class [:${spec}:] inside a larger class`);
          }
          body.push(set);
          continue;
        }
      }
      i++;
      if (c === '\\') body.push(parseEscape(true));
      else if (c === '-' && chars[i] !== ']' && body.length > 0) body.push('-');
      else body.push(literal(c));
    }
    if (body.length === 0) throw new TranslateError('invalid', 'empty character class');
    return `[${negate ? '^' : ''}${body.join('')}]`;
  };

  /** `{n}`, `{n,}` or `{n,m}` starting at `i`, or undefined when the brace is literal text (as in Go). */
  const repeat = (): string | undefined => {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(chars.slice(i, i + 24).join(''));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[3] === undefined || m[3] === '' ? undefined : Number(m[3]);
    if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) {
      throw new TranslateError('invalid', `invalid repeat count ${m[0]}`);
    }
    i += m[0].length;
    return m[0];
  };

  while (i < chars.length) {
    const c = chars[i++]!;
    switch (c) {
      case '\\':
        out.push(parseEscape(false));
        break;
      case '[':
        out.push(charClass());
        break;
      case '.':
        out.push(dotAll ? '[\\s\\S]' : '[^\\n]');
        break;
      case '(':
        if (peek() === '?') {
          const rest = chars.slice(i, i + 3).join('');
          if (rest.startsWith('?:')) {
            i += 2;
            out.push('(?:');
          } else if (
            rest.startsWith('?P<') ||
            (rest.startsWith('?<') && rest[2] !== '=' && rest[2] !== '!')
          ) {
            i += rest.startsWith('?P<') ? 3 : 2;
            const end = chars.indexOf('>', i);
            const name = chars.slice(i, end).join('');
            if (end < 0 || !/^[A-Za-z_][0-9A-Za-z_]*$/.test(name)) {
              throw new TranslateError('invalid', `bad group name <${name}>`);
            }
            i = end + 1;
            out.push(`(?<${name}>`);
          } else if (/^\?[=!<]/.test(rest)) {
            throw new TranslateError('invalid', 'lookaround assertions (Go has none)');
          } else {
            throw new TranslateError('unsupported', 'a flag group after the start of the expression');
          }
        } else {
          out.push('(');
        }
        break;
      case '{': {
        i--;
        const r = repeat();
        if (r === undefined) i++;
        out.push(r ?? '\\{');
        break;
      }
      case '}':
        out.push('\\}');
        break;
      case ']':
        out.push('\\]');
        break;
      case '/':
        out.push('\\/');
        break;
      default:
        out.push(c);
    }
  }
  return { source: out.join(''), flags };
}

const cache = new Map<string, GoRegexpResult>();

/**
 * Compiles a Go regular expression into a JavaScript RegExp with the same meaning (see the file
 * comment for the gaps). Results are cached, up to {@link GO_REGEXP_CACHE_SIZE} expressions.
 */
export function compileGoRegexp(expr: string): GoRegexpResult {
  const hit = cache.get(expr);
  if (hit !== undefined) return hit;
  let result: GoRegexpResult;
  try {
    const { source, flags } = translate(expr);
    result = { ok: true, regexp: new RegExp(source, flags) };
  } catch (e) {
    result =
      e instanceof TranslateError
        ? { ok: false, reason: e.reason, detail: e.message }
        : { ok: false, reason: 'invalid', detail: e instanceof Error ? e.message : String(e) };
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
