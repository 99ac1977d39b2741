// The dashboard's reducer: API records and events in, view state out (web/src/state.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AgentInfo, type MemberDetail, parseAgent, parseMember } from '../../web/src/api-types.ts';
import {
  type Action,
  ackCurve,
  displayStatus,
  INFERRED_MERGE_MS,
  initialState,
  litAt,
  queueDepth,
  reduce,
  SERIES_MAX,
  sortedMembers,
  statusCounts,
  TIMELINE_MAX,
  USER_EVENTS_MAX,
  type ViewState,
} from '../../web/src/state.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

function member(name: string, over: Partial<MemberDetail> = {}): MemberDetail {
  return {
    name,
    addr: `10.0.0.1:7946`,
    port: 7946,
    tags: {},
    status: 'alive',
    swimStatus: 'alive',
    incarnation: 1,
    protocol: { min: 1, max: 5, version: 4 },
    lastChangeAt: undefined,
    ...over,
  };
}

/** The detail shape as the agent sends it on the wire. */
function wire(m: MemberDetail): Record<string, unknown> {
  return {
    name: m.name,
    addr: m.addr,
    port: m.port,
    tags: m.tags,
    status: m.status,
    swimStatus: m.swimStatus,
    incarnation: m.incarnation,
    protocol: m.protocol,
  };
}

function agent(name: string, over: Partial<AgentInfo> = {}): AgentInfo {
  return parseAgent({ name, healthScore: 0, ...over })!;
}

function run(actions: Action[], from: ViewState = initialState(T0)): ViewState {
  return actions.reduce(reduce, from);
}

function ev(event: string, data: Record<string, unknown>, at = T0): Action {
  return { type: 'event', event, data, at };
}

describe('displayStatus', () => {
  const cases: Array<[MemberDetail['status'], MemberDetail['swimStatus'], string]> = [
    ['alive', 'alive', 'alive'],
    ['alive', 'suspect', 'suspect'],
    ['alive', undefined, 'alive'],
    ['leaving', 'alive', 'leaving'],
    ['left', 'left', 'left'],
    ['alive', 'left', 'left'],
    ['failed', 'dead', 'failed'],
    ['alive', 'dead', 'failed'],
    ['none', 'alive', 'alive'],
    ['none', undefined, 'failed'],
  ];
  for (const [status, swim, want] of cases) {
    it(`${status} + ${swim} is ${want}`, () => {
      assert.equal(displayStatus({ status, swimStatus: swim }), want);
    });
  }
});

describe('parsing API records', () => {
  it('parses a detail member and tolerates missing fields', () => {
    const m = parseMember({
      name: 'a',
      addr: '1.2.3.4:7946',
      status: 'alive',
      swimStatus: 'suspect',
      tags: { x: 1 },
    });
    assert.ok(m);
    assert.equal(m.swimStatus, 'suspect');
    assert.deepEqual(m.tags, {}); // non-string tag values are dropped
    assert.equal(m.incarnation, undefined);
    assert.equal(parseMember({ addr: 'no name' }), undefined);
    assert.equal(parseMember({ name: 'b', status: 'weird', swimStatus: 'zombie' })?.status, 'none');
  });

  it('parses /v1/agent with a default score bound', () => {
    const a = parseAgent({ name: 'n1', healthScore: 2, queues: { memberlist: 3, bad: 'x' } });
    assert.ok(a);
    assert.equal(a.healthScoreMax, 8);
    assert.deepEqual(a.queues, { memberlist: 3 });
    assert.equal(parseAgent([]), undefined);
  });
});

describe('reduce: members', () => {
  it('loads the member list and marks the local node', () => {
    const s = run([
      { type: 'agent', agent: agent('b'), at: T0 },
      { type: 'members', members: [member('a'), member('b'), member('c', { status: 'failed' })], at: T0 },
    ]);
    assert.equal(s.membersLoaded, true);
    assert.equal(s.members.size, 3);
    assert.equal(s.members.get('b')?.isLocal, true);
    assert.deepEqual(
      sortedMembers(s).map((m) => m.name),
      ['b', 'c', 'a'],
    );
    assert.deepEqual(statusCounts(s), { alive: 2, suspect: 0, leaving: 0, left: 0, failed: 1 });
    assert.equal(s.timeline.length, 0, 'the first load tells no story');
  });

  it('marks the local node when /v1/agent arrives after the members', () => {
    const s = run([
      { type: 'members', members: [member('a'), member('b')], at: T0 },
      { type: 'agent', agent: agent('b'), at: T0 },
    ]);
    assert.equal(s.members.get('b')?.isLocal, true);
  });

  it('infers a remote refutation from two polls (suspect, then alive at a higher incarnation)', () => {
    const s = run([
      { type: 'members', members: [member('a', { swimStatus: 'suspect', incarnation: 4 })], at: T0 },
      { type: 'members', members: [member('a', { incarnation: 5 })], at: T0 + 3000 },
    ]);
    const e = s.timeline[0]!;
    assert.equal(e.kind, 'refute');
    assert.equal(e.inferred, true);
    assert.match(e.detail, /incarnation 5/);
  });

  it('infers leaving, which has no event', () => {
    const s = run([
      { type: 'members', members: [member('a')], at: T0 },
      { type: 'members', members: [member('a', { status: 'leaving' })], at: T0 + 3000 },
    ]);
    assert.equal(s.timeline[0]?.kind, 'leaving');
    assert.equal(s.members.get('a')?.display, 'leaving');
  });

  it('drops members the agent no longer lists', () => {
    const s = run([
      { type: 'members', members: [member('a'), member('b')], at: T0 },
      { type: 'members', members: [member('a')], at: T0 + 3000 },
    ]);
    assert.deepEqual([...s.members.keys()], ['a']);
  });
});

describe('reduce: member events', () => {
  const base = run([
    { type: 'agent', agent: agent('a'), at: T0 },
    { type: 'members', members: [member('a'), member('b'), member('c')], at: T0 },
  ]);

  it('join, suspect, failed, leave and reap each update the member and the timeline', () => {
    const s = run(
      [
        ev('member-join', {
          member: wire(member('d', { tags: { role: 'db' } })),
          at: '2026-11-25T12:00:01Z',
        }),
        ev('member-suspect', { member: wire(member('b')), from: 'c', at: '2026-11-25T12:00:02Z' }),
        ev(
          'member-failed',
          { member: wire(member('b', { status: 'failed', swimStatus: 'dead' })) },
          T0 + 3000,
        ),
        ev('member-leave', { member: wire(member('c', { status: 'left', swimStatus: 'left' })) }, T0 + 4000),
        ev('member-reap', { member: wire(member('c', { status: 'left' })) }, T0 + 5000),
      ],
      base,
    );
    assert.deepEqual(
      s.timeline.map((e) => e.kind),
      ['reap', 'leave', 'failed', 'suspect', 'join'],
    );
    assert.equal(s.members.get('d')?.display, 'alive');
    assert.equal(s.members.get('b')?.display, 'failed');
    assert.equal(s.members.has('c'), false);
    assert.match(s.timeline[3]!.detail, /accused by c/);
    assert.match(s.timeline[4]!.detail, /role=db/);
    assert.equal(s.timeline[4]!.at, Date.parse('2026-11-25T12:00:01Z'), 'the event’s own time is used');
  });

  it('a suspect keeps who accused it until it is alive again', () => {
    let s = reduce(base, ev('member-suspect', { member: wire(member('b')), from: 'c' }));
    assert.equal(s.members.get('b')?.display, 'suspect');
    assert.equal(s.members.get('b')?.suspectedBy, 'c');
    s = reduce(s, {
      type: 'members',
      members: [member('a'), member('b', { incarnation: 2 }), member('c')],
      at: T0 + 1,
    });
    assert.equal(s.members.get('b')?.display, 'alive');
    assert.equal(s.members.get('b')?.suspectedBy, undefined);
    assert.equal(s.timeline[0]?.kind, 'refute');
  });

  it('an event replaces the inferred entry a poll made first, and a poll does not repeat an event', () => {
    const failed = member('b', { status: 'failed', swimStatus: 'dead' });
    let s = reduce(base, { type: 'members', members: [member('a'), failed, member('c')], at: T0 + 1000 });
    assert.equal(s.timeline.length, 1);
    assert.equal(s.timeline[0]?.inferred, true);
    s = reduce(s, ev('member-failed', { member: wire(failed) }, T0 + 1200));
    assert.equal(s.timeline.length, 1);
    assert.equal(s.timeline[0]?.inferred, false);
    // Much later, the same kind of entry for the same node is a new story.
    s = reduce(s, ev('member-failed', { member: wire(failed) }, T0 + 1200 + INFERRED_MERGE_MS + 1));
    assert.equal(s.timeline.length, 2);
  });

  it('the local refute raises our incarnation', () => {
    const s = reduce(base, ev('refute', { incarnation: 7 }));
    assert.equal(s.timeline[0]?.kind, 'refute');
    assert.equal(s.members.get('a')?.incarnation, 7);
    assert.equal(s.agent?.incarnation, 7);
  });

  it('ignores malformed events', () => {
    for (const bad of [
      ev('member-join', {}),
      ev('member-join', { member: { addr: 'x' } }),
      { type: 'event', event: 'user', data: 'not an object', at: T0 } as Action,
      ev('no-such-event', { a: 1 }),
      ev('probe', { target: 'nobody', ok: true }),
      ev('health', { score: 'high' }),
    ]) {
      assert.equal(reduce(base, bad), base);
    }
  });
});

describe('reduce: probes, health, stats, user events', () => {
  const base = run([
    { type: 'agent', agent: agent('a', { healthScoreMax: 8 }), at: T0 },
    { type: 'members', members: [member('a'), member('b')], at: T0 },
  ]);

  it('probes give a member its health as seen from here', () => {
    let s = reduce(base, ev('probe', { target: 'b', ok: true, rttMs: 1.5, indirect: false }));
    s = reduce(s, ev('probe', { target: 'b', ok: true, rttMs: 2.5, indirect: false }));
    assert.deepEqual(s.members.get('b')?.probe?.rtts, [1.5, 2.5]);
    s = reduce(s, ev('probe', { target: 'b', ok: false, indirect: true }));
    s = reduce(s, ev('probe', { target: 'b', ok: false, indirect: true }));
    const p = s.members.get('b')?.probe;
    assert.equal(p?.ok, false);
    assert.equal(p?.failures, 2);
    assert.equal(p?.rttMs, 2.5, 'keeps the last good round trip');
    assert.equal(reduce(s, ev('probe', { target: 'b', ok: false, inconclusive: true, indirect: true })), s);
  });

  it('health events set the score and go to the timeline', () => {
    const s = reduce(base, ev('health', { score: 3, reason: 'probe-failed' }));
    assert.deepEqual(
      { score: s.health?.score, max: s.health?.max, reason: s.health?.reason },
      { score: 3, max: 8, reason: 'probe-failed' },
    );
    assert.equal(s.timeline[0]?.title, 'health score 0 → 3');
  });

  it('stats build bounded, time-ordered series', () => {
    let s = base;
    for (let i = 0; i < SERIES_MAX + 20; i++) {
      s = reduce(
        s,
        ev(
          'stats',
          { queueDepth: i, msgsInPerSec: 1, msgsOutPerSec: 2, bytesInPerSec: 3, bytesOutPerSec: 4 },
          T0 + i * 1000,
        ),
      );
    }
    assert.equal(s.series.t.length, SERIES_MAX);
    assert.equal(s.series.queueDepth.at(-1), SERIES_MAX + 19);
    assert.equal(queueDepth(s), SERIES_MAX + 19);
    // A sample that does not move time forward is shown but not plotted.
    const again = reduce(s, ev('stats', { queueDepth: 1 }, T0));
    assert.equal(again.series, s.series);
    assert.equal(again.stats?.queueDepth, 1);
  });

  it('queue depth falls back to /v1/agent queues before the first stats', () => {
    const s = reduce(initialState(T0), {
      type: 'agent',
      agent: agent('a', { queues: { memberlist: 2, events: 3 } }),
      at: T0,
    });
    assert.equal(queueDepth(s), 5);
    assert.equal(queueDepth(initialState(T0)), undefined);
  });

  it('user events are kept newest first and bounded; a binary payload is described', () => {
    let s = base;
    for (let i = 0; i < USER_EVENTS_MAX + 5; i++)
      s = reduce(s, ev('user', { name: `e${i}`, payload: 'p', lTime: i }));
    assert.equal(s.userEvents.length, USER_EVENTS_MAX);
    assert.equal(s.userEvents[0]?.name, `e${USER_EVENTS_MAX + 4}`);
    s = reduce(
      s,
      ev('user', { name: 'bin', payloadBase64: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') }),
    );
    assert.equal(s.userEvents[0]?.payload, '(3 bytes, binary)');
    s = reduce(s, ev('user', { name: 'txt', payloadBase64: Buffer.from('héllo').toString('base64') }));
    assert.equal(s.userEvents[0]?.payload, 'héllo');
  });

  it('the timeline is bounded and newest first even for late events', () => {
    let s = base;
    for (let i = 0; i < TIMELINE_MAX + 10; i++)
      s = reduce(s, ev('query', { name: `q${i}`, from: 'b' }, T0 + i));
    assert.equal(s.timeline.length, TIMELINE_MAX);
    s = reduce(s, ev('query', { name: 'late', from: 'b' }, T0 + TIMELINE_MAX + 5));
    assert.equal(s.timeline[0]?.title, `query “q${TIMELINE_MAX + 9}” from b`);
    assert.ok(s.timeline.some((e) => e.title.includes('late')));
    const times = s.timeline.map((e) => e.at);
    assert.deepEqual(
      times,
      [...times].sort((x, y) => y - x),
    );
  });
});

describe('reduce: spread trace', () => {
  const base = run([
    { type: 'agent', agent: agent('a'), at: T0 },
    {
      type: 'members',
      members: [
        member('a'),
        member('b'),
        member('c', { swimStatus: 'suspect' }),
        member('d', { status: 'failed' }),
      ],
      at: T0,
    },
  ]);

  it('expects the reachable members and lights each as its ack arrives', () => {
    let s = reduce(base, { type: 'trace-start', id: 1, name: 'trace', at: T0 });
    assert.deepEqual([...(s.trace?.expected ?? [])].sort(), ['a', 'b', 'c']);
    s = run(
      [
        {
          type: 'trace-line',
          id: 1,
          line: { type: 'ack', from: 'a', elapsedMs: 1, at: undefined },
          at: T0 + 5,
        },
        // Without the agent's elapsedMs, the page's own clock is used.
        {
          type: 'trace-line',
          id: 1,
          line: { type: 'ack', from: 'b', elapsedMs: undefined, at: undefined },
          at: T0 + 240,
        },
        // A duplicate ack changes nothing.
        {
          type: 'trace-line',
          id: 1,
          line: { type: 'ack', from: 'b', elapsedMs: 999, at: undefined },
          at: T0 + 900,
        },
        // A line for another trace is ignored.
        {
          type: 'trace-line',
          id: 9,
          line: { type: 'ack', from: 'c', elapsedMs: 5, at: undefined },
          at: T0 + 900,
        },
      ],
      s,
    );
    assert.deepEqual(s.trace?.acks, { a: 1, b: 240 });
    assert.deepEqual(s.trace?.order, ['a', 'b']);
    assert.deepEqual([...litAt(s.trace!, 100)], ['a']);
    assert.deepEqual([...litAt(s.trace!, 240)].sort(), ['a', 'b']);
    assert.deepEqual(ackCurve(s.trace!), [
      [0, 0],
      [1, 1],
      [240, 2],
    ]);
    s = reduce(s, {
      type: 'trace-line',
      id: 1,
      line: { type: 'done', acks: 2, responses: 0 },
      at: T0 + 3000,
    });
    assert.equal(s.trace?.done, true);
    const h = s.traceHistory[0]!;
    assert.deepEqual(
      { acked: h.acked, expected: h.expected, p50: h.p50Ms, max: h.maxMs },
      { acked: 2, expected: 3, p50: 1, max: 240 },
    );
    // After done, late lines are ignored.
    const late = reduce(s, {
      type: 'trace-line',
      id: 1,
      line: { type: 'ack', from: 'c', elapsedMs: 5, at: undefined },
      at: T0,
    });
    assert.equal(late, s);
  });

  it('an error ends the trace and is kept in the history', () => {
    let s = reduce(base, { type: 'trace-start', id: 2, name: 'x', at: T0 });
    s = reduce(s, { type: 'trace-error', id: 2, error: 'the agent is leaving (HTTP 409)', at: T0 + 10 });
    assert.equal(s.trace?.done, true);
    assert.equal(s.traceHistory[0]?.error, 'the agent is leaving (HTTP 409)');
  });

  it('a new trace archives an unfinished one', () => {
    let s = reduce(base, { type: 'trace-start', id: 3, name: 'x', at: T0 });
    s = reduce(s, { type: 'trace-start', id: 4, name: 'y', at: T0 + 10 });
    assert.equal(s.trace?.id, 4);
    assert.equal(s.traceHistory[0]?.id, 3);
  });
});

describe('reduce: connection', () => {
  it('losing and regaining the stream goes to the timeline', () => {
    const s = run([
      { type: 'connection', status: 'live', at: T0 },
      { type: 'connection', status: 'reconnecting', detail: 'dropped', at: T0 + 1 },
      { type: 'connection', status: 'live', at: T0 + 2 },
    ]);
    assert.deepEqual(
      s.timeline.map((e) => e.title),
      ['event stream reconnected', 'lost the agent’s event stream'],
    );
    assert.equal(reduce(s, { type: 'connection', status: 'live', at: T0 + 3 }), s);
  });
});
