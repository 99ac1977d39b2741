/**
 * Unit tests of the Serf layer's pure parts: Lamport clock rules, option validation, the Go
 * regexps of tag filters (on the linear-time re2js engine), and the coalescing stages (after Serf's
 * `lamport_test.go`, `config_test.go`, `coalesce_test.go`, `coalesce_member_test.go`,
 * `coalesce_user_test.go`), all on a virtual clock.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  CoalescingStage,
  compileGoRegexp,
  GO_REGEXP_MAX_LENGTH,
  goRegexpMatch,
  LamportClock,
  MemberEventCoalescer,
  type MemberEventType,
  resolveSerfOptions,
  type SerfEvent,
  type SerfMember,
  UserEventCoalescer,
} from '../../src/cluster/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { VirtualClock } from '../../src/runtime/index.ts';

describe('LamportClock', () => {
  it('starts at 0; increment adds one', () => {
    const c = new LamportClock();
    assert.equal(c.time(), 0);
    assert.equal(c.increment(), 1);
    assert.equal(c.time(), 1);
  });

  const cases: [start: number, witnessed: number, after: number][] = [
    [0, 0, 1], // equal: move past it
    [1, 0, 1], // older: nothing
    [5, 5, 6],
    [5, 41, 42], // newer: one past it
    [42, 7, 42],
  ];
  for (const [start, witnessed, after] of cases) {
    it(`witness(${witnessed}) at ${start} gives ${after}`, () => {
      const c = new LamportClock();
      while (c.time() < start) c.increment();
      c.witness(witnessed);
      assert.equal(c.time(), after);
    });
  }

  it('reports each change once, and none for an old witness', () => {
    const c = new LamportClock();
    const seen: number[] = [];
    c.onChange = (t) => seen.push(t);
    c.increment();
    c.witness(0);
    c.witness(9);
    c.witness(3);
    assert.deepEqual(seen, [1, 10]);
  });

  it('saturates at Number.MAX_SAFE_INTEGER instead of losing precision', () => {
    const c = new LamportClock();
    c.witness(Number.MAX_SAFE_INTEGER);
    assert.equal(c.time(), Number.MAX_SAFE_INTEGER);
    c.increment();
    assert.equal(c.time(), Number.MAX_SAFE_INTEGER);
  });
});

describe('Serf options', () => {
  it("defaults are Serf's DefaultConfig (agent protocol 5)", () => {
    const o = resolveSerfOptions();
    assert.equal(o.protocolVersion, 5);
    assert.equal(o.broadcastTimeoutMs, 5000);
    assert.equal(o.leavePropagateDelayMs, 1000);
    assert.equal(o.eventBuffer, 512);
    assert.equal(o.queryBuffer, 512);
    assert.equal(o.reapIntervalMs, 15_000);
    assert.equal(o.reconnectIntervalMs, 30_000);
    assert.equal(o.reconnectTimeoutMs, 86_400_000);
    assert.equal(o.tombstoneTimeoutMs, 86_400_000);
    assert.equal(o.recentIntentTimeoutMs, 300_000);
    assert.equal(o.maxQueueDepth, 4096);
    assert.equal(o.queryTimeoutMult, 16);
    assert.equal(o.querySizeLimit, 1024);
    assert.equal(o.queryResponseSizeLimit, 1024);
    assert.equal(o.userEventSizeLimit, 512);
    assert.equal(o.enableNameConflictResolution, true);
  });

  it('undefined keeps the default; overrides apply', () => {
    const o = resolveSerfOptions({ reapIntervalMs: undefined, tombstoneTimeoutMs: 1000 });
    assert.equal(o.reapIntervalMs, 15_000);
    assert.equal(o.tombstoneTimeoutMs, 1000);
  });

  const bad: [Partial<Parameters<typeof resolveSerfOptions>[0]>, string, RegExp][] = [
    [{ protocolVersion: 6 }, 'protocolVersion', /from 2 to 5; got 6/],
    [{ userEventSizeLimit: 10_000 }, 'userEventSizeLimit', /9216.*got 10000/],
    [{ reapIntervalMs: 0 }, 'reapIntervalMs', /positive.*got 0/],
    [{ eventBuffer: 1.5 }, 'eventBuffer', /whole number.*got 1.5/],
    [{ maxQueueDepth: -1 }, 'maxQueueDepth', /got -1/],
    [{ enableNameConflictResolution: 'yes' as unknown as boolean }, 'enableNameConflictResolution', /"yes"/],
  ];
  for (const [override, field, message] of bad) {
    it(`rejects a bad ${field}, naming it`, () => {
      assert.throws(
        () => resolveSerfOptions(override),
        (e: unknown) => e instanceof ConfigError && e.field === field && message.test(e.message),
      );
    });
  }
});

/** Far beyond what the linear engine needs (milliseconds), far below a backtracking engine's (never). */
const LINEAR_DEADLINE_MS = 30_000;

describe('Go regexps (tag filters)', () => {
  const matches: [expr: string, value: string, matched: boolean][] = [
    ['w.b', 'web', true], // unanchored, as regexp.MatchString
    ['w.b', 'a-wxb-z', true],
    ['^web$', 'web1', false],
    ['.', '\n', false], // Go's . stops at \n ...
    ['^.$', '\r', true], // ... but not at \r (JavaScript's would)
    ['(?s)^.$', '\n', true],
    ['(?i)^WEB', 'web-1', true],
    ['\\d+', 'v12', true],
    ['^\\w+$', 'ä', false], // ASCII \w
    ['^\\s$', '\u00a0', false], // ASCII \s
    ['[[:alpha:]]+', '123abc', true],
    ['^[[:^digit:]]+$', 'abc', true],
    ['\\pL', 'é', true],
    ['\\p{Greek}', 'λ', true],
    ['(?P<env>prod|stage)', 'stage-2', true],
    ['a{2}', 'caab', true],
    ['a{,2}', 'a{,2}', true], // not a repeat in Go: literal text
    ['x}', 'x}', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\x41\\x{42}\\101', 'ABA', true],
    ['\\-\\!', '-!', true],
    ['\\Aab\\z', 'ab', true],
    ['[]a]', ']', true],
    ['[a-]', '-', true],
    ['', 'anything', true],
  ];
  for (const [expr, value, matched] of matches) {
    it(`${JSON.stringify(expr)} ${matched ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      const r = goRegexpMatch(expr, value);
      assert.ok(r.ok, r.ok ? '' : r.detail);
      assert.equal(r.matched, matched);
    });
  }

  // Beyond the old translation to JavaScript: flag groups anywhere, ungreedy, negated POSIX
  // classes inside a class, and Go's (ASCII) \\S \\W inside classes.
  const nowSupported: [expr: string, value: string, matched: boolean][] = [
    ['a(?i)b', 'aB', true],
    ['(?i:b)c', 'BC', false],
    ['(?i:b)c', 'Bc', true],
    ['(?U)^a+', 'aaa', true],
    ['[x[:^digit:]]', '7', false],
    ['^[\\S]$', '\u00a0', true], // Go's \S is "not ASCII space": U+00A0 is in it
    ['^[^\\W]$', 'ä', false],
  ];
  for (const [expr, value, matched] of nowSupported) {
    it(`${JSON.stringify(expr)} ${matched ? 'matches' : 'does not match'} ${JSON.stringify(value)}`, () => {
      const r = goRegexpMatch(expr, value);
      assert.ok(r.ok, r.ok ? '' : r.detail);
      assert.equal(r.matched, matched);
    });
  }

  const refused: string[] = [
    '(?=a)', // Go has no lookaround
    '(?<=a)b',
    '(a)\\1', // nor backreferences
    '\\q',
    '\\C',
    'a{1001}',
    'a**',
    '[a',
    'x'.repeat(GO_REGEXP_MAX_LENGTH + 1),
  ];
  for (const expr of refused) {
    it(`${JSON.stringify(expr.slice(0, 20))} is invalid`, () => {
      const r = compileGoRegexp(expr);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.reason, 'invalid');
    });
  }

  it('matches in linear time: patterns exponential for a backtracking engine, on a 512-byte tag', async () => {
    // On the JavaScript RegExp this replaced, `^(a+)+$` took ~1 s on 24 characters and ~3.7 s on
    // 26 (each 2 more characters about 3x longer); on 512 bytes it would never finish. A
    // backtracking engine blocks its thread, so the matching runs in a child process that is
    // killed if it is not done long after a linear engine would be (a few ms).
    const tag = `${'a'.repeat(511)}!`;
    const exprs = ['^(a+)+$', '^(a|aa)+$', '(a*)*b', '^(\\w+\\s?)*$', '^(a+)+!$'];
    const code = `
      const { goRegexpMatch } = await import(${JSON.stringify(new URL('../../src/cluster/go-regexp.ts', import.meta.url).href)});
      const out = ${JSON.stringify(exprs)}.map((e) => goRegexpMatch(e, ${JSON.stringify(tag)}).matched);
      process.stdout.write(JSON.stringify(out));`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', code],
        { timeout: LINEAR_DEADLINE_MS, encoding: 'utf8' },
        (err, out, stderr) =>
          err
            ? reject(
                new Error(`not done within ${LINEAR_DEADLINE_MS} ms (or failed): ${err.message}\n${stderr}`),
              )
            : resolve(out),
      ),
    );
    assert.deepEqual(JSON.parse(stdout), [false, false, false, false, true]);
  });
});

const member = (name: string, tags: Record<string, string> = {}): SerfMember => ({
  name,
  addr: '10.0.0.1',
  port: 7946,
  tags,
  status: 'alive',
  protocol: { min: 2, max: 5, version: 2 },
  delegate: { min: 2, max: 5, version: 5 },
});
const memberEvent = (type: MemberEventType, ...names: string[]): SerfEvent => ({
  type,
  members: names.map((n) => member(n)),
});
const userEvent = (name: string, lTime: number, coalesce = true, payload = ''): SerfEvent => ({
  type: 'user',
  name,
  lTime,
  coalesce,
  payload: new TextEncoder().encode(payload),
});
const summary = (e: SerfEvent) =>
  e.type === 'user'
    ? `user:${e.name}@${e.lTime}:${new TextDecoder().decode(e.payload)}`
    : e.type === 'query'
      ? `query:${e.name}`
      : `${e.type}:${e.members.map((m) => m.name).join(',')}`;

describe('CoalescingStage', () => {
  function stage(coalescePeriodMs: number, quiescentPeriodMs: number, member = true) {
    const clock = new VirtualClock();
    const out: string[] = [];
    const s = new CoalescingStage<SerfEvent>({
      clock,
      coalescer: member ? new MemberEventCoalescer() : new UserEventCoalescer(),
      emit: (e) => out.push(summary(e)),
      coalescePeriodMs,
      quiescentPeriodMs,
    });
    return { clock, out, s };
  }

  it('flushes at the quantum even while events keep coming', () => {
    const { clock, out, s } = stage(50, 20);
    for (let t = 0; t < 100; t += 10) {
      s.push(memberEvent('member-join', `m${t}`));
      clock.advance(10);
      if (t < 40) assert.equal(out.length, 0, `nothing before the quantum (t=${t})`);
    }
    assert.ok(out[0]?.startsWith('member-join:m0,m10,m20,m30,m40'), out[0]);
  });

  it('flushes after a quiet spell, before the quantum', () => {
    const { clock, out, s } = stage(1000, 20);
    s.push(memberEvent('member-join', 'a'));
    s.push(memberEvent('member-join', 'b'));
    clock.advance(19);
    assert.deepEqual(out, []);
    clock.advance(1);
    assert.deepEqual(out, ['member-join:a,b']);
  });

  it('passes through what the coalescer does not handle, at once', () => {
    const { out, s } = stage(1000, 1000);
    s.push(userEvent('deploy', 1));
    assert.deepEqual(out, ['user:deploy@1:']);
  });

  it('stop() flushes what is pending, then passes everything through', () => {
    const { out, s } = stage(1000, 1000);
    s.push(memberEvent('member-failed', 'x'));
    s.stop();
    assert.deepEqual(out, ['member-failed:x']);
    s.push(memberEvent('member-join', 'y'));
    assert.deepEqual(out, ['member-failed:x', 'member-join:y']);
  });

  it('rejects non-positive periods', () => {
    assert.throws(
      () =>
        new CoalescingStage({
          clock: new VirtualClock(),
          coalescer: new UserEventCoalescer(),
          emit: () => {},
          coalescePeriodMs: 0,
          quiescentPeriodMs: 1,
        }),
      /must be positive/,
    );
  });
});

describe('MemberEventCoalescer', () => {
  function flushOf(c: MemberEventCoalescer, events: SerfEvent[]): string[] {
    const out: string[] = [];
    for (const e of events) c.coalesce(e);
    c.flush((e) => out.push(summary(e)));
    return out;
  }

  it("keeps each member's latest event, one event per type (Serf's basic case)", () => {
    const c = new MemberEventCoalescer();
    const out = flushOf(c, [
      memberEvent('member-join', 'foo'),
      memberEvent('member-leave', 'foo'),
      memberEvent('member-leave', 'bar'),
      memberEvent('member-update', 'zip'),
      memberEvent('member-update', 'zip'),
      memberEvent('member-reap', 'dead'),
    ]);
    assert.deepEqual(out, ['member-leave:foo,bar', 'member-update:zip', 'member-reap:dead']);
  });

  it('keeps the latest version of an updated member', () => {
    const c = new MemberEventCoalescer();
    let last: SerfEvent | undefined;
    c.coalesce({ type: 'member-update', members: [member('zip', { role: 'foo' })] });
    c.coalesce({ type: 'member-update', members: [member('zip', { role: 'bar' })] });
    c.flush((e) => {
      last = e;
    });
    assert.equal(last?.type === 'member-update' && last.members[0]?.tags.role, 'bar');
  });

  it('drops a repeat of the last delivered event, but never an update', () => {
    const c = new MemberEventCoalescer();
    assert.deepEqual(flushOf(c, [memberEvent('member-join', 'a'), memberEvent('member-update', 'b')]), [
      'member-join:a',
      'member-update:b',
    ]);
    assert.deepEqual(flushOf(c, [memberEvent('member-join', 'a'), memberEvent('member-update', 'b')]), [
      'member-update:b',
    ]);
    assert.deepEqual(flushOf(c, []), [], 'a flush forgets its batch (Serf 0.9.4 re-sent old updates)');
    assert.deepEqual(flushOf(c, [memberEvent('member-failed', 'a')]), ['member-failed:a']);
  });

  it('keeps every member of a multi-member event', () => {
    const c = new MemberEventCoalescer();
    assert.deepEqual(flushOf(c, [memberEvent('member-join', 'a', 'b', 'c')]), ['member-join:a,b,c']);
  });

  it('handles member events only', () => {
    const c = new MemberEventCoalescer();
    assert.equal(c.handle(memberEvent('member-reap', 'a')), true);
    assert.equal(c.handle(userEvent('x', 1)), false);
  });
});

describe('UserEventCoalescer', () => {
  it("keeps, per name, the events of the newest Lamport time (Serf's basic case)", () => {
    const c = new UserEventCoalescer();
    for (const e of [
      userEvent('foo', 1, true, 'a'),
      userEvent('foo', 2, true, 'b'),
      userEvent('bar', 2, true, 'c'),
      userEvent('bar', 2, true, 'd'),
      userEvent('bar', 1, true, 'old'),
      userEvent('baz', 3, true, 'e'),
    ])
      c.coalesce(e);
    const out: string[] = [];
    c.flush((e) => out.push(summary(e)));
    assert.deepEqual(out, ['user:foo@2:b', 'user:bar@2:c', 'user:bar@2:d', 'user:baz@3:e']);
    const again: string[] = [];
    c.flush((e) => again.push(summary(e)));
    assert.deepEqual(again, []);
  });

  it('handles only user events sent with coalesce', () => {
    const c = new UserEventCoalescer();
    assert.equal(c.handle(userEvent('x', 1, true)), true);
    assert.equal(c.handle(userEvent('x', 1, false)), false);
    assert.equal(c.handle(memberEvent('member-join', 'a')), false);
  });

  it('in a stage: coalescable events wait, others pass', () => {
    const clock = new VirtualClock();
    const out: string[] = [];
    const s = new CoalescingStage<SerfEvent>({
      clock,
      coalescer: new UserEventCoalescer(),
      emit: (e) => out.push(summary(e)),
      coalescePeriodMs: 100,
      quiescentPeriodMs: 30,
    });
    s.push(userEvent('deploy', 1, true, 'v1'));
    s.push(userEvent('deploy', 2, true, 'v2'));
    s.push(userEvent('urgent', 2, false, 'now'));
    assert.deepEqual(out, ['user:urgent@2:now']);
    clock.advance(30);
    assert.deepEqual(out, ['user:urgent@2:now', 'user:deploy@2:v2']);
  });
});
