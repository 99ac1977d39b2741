/**
 * Agent configuration: flags over GOSSIP_* environment over config files over defaults, serf's
 * config keys accepted, and every bad value refused with the value and the fix in the message.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFromEnv, defaultAgentConfig, loadConfigFile, resolveConfig } from '../../src/agent/config.ts';
import { parseHandlerSpec } from '../../src/agent/handlers.ts';
import { flagsLayer } from '../../src/cli/commands/agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'gossip-config-'));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

describe('agent configuration', () => {
  it('defaults are loopback-safe', () => {
    const d = defaultAgentConfig();
    assert.equal(d.bindAddr, '127.0.0.1:7946');
    assert.equal(d.httpAddr, '127.0.0.1:7373');
    assert.equal(d.profile, 'lan');
  });

  it('precedence: flags > environment > file > defaults', () => {
    const f = loadConfigFile(
      file('c.json', {
        node_name: 'from-file',
        bind: '127.0.0.1:8000',
        tags: { role: 'file' },
        log_level: 'warn',
      }),
    );
    const env = configFromEnv({ GOSSIP_NODE: 'from-env', GOSSIP_TAGS: 'role=env,zone=a' });
    const { layer } = flagsLayer(['--node', 'from-flag']);
    const c = resolveConfig(f, env, layer);
    assert.equal(c.nodeName, 'from-flag');
    assert.deepEqual(c.tags, { role: 'env', zone: 'a' });
    assert.equal(c.bindAddr, '127.0.0.1:8000');
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.httpAddr, '127.0.0.1:7373');
  });

  it("serf's agent config keys load; unknown keys get a suggestion", () => {
    const serfStyle = loadConfigFile(
      file('serf.json', {
        node_name: 'n1',
        bind: '127.0.0.1:7946',
        encrypt_key: 'aLIuK3Ak/QQj+Q3uE0IbfHgyFWhlpTS1Aqw+9yMSChs=',
        start_join: ['127.0.0.1:7947'],
        rpc_addr: '127.0.0.1:7373',
        event_handlers: ['user:deploy=./d.sh'],
      }),
    );
    const c = resolveConfig(serfStyle);
    assert.deepEqual(c.join, ['127.0.0.1:7947']);
    assert.deepEqual(c.eventHandlers, ['user:deploy=./d.sh']);
    assert.throws(
      () => loadConfigFile(file('typo.json', { node_nam: 'x' })),
      /unknown key "node_nam"; did you mean "node_name"\?/,
    );
    assert.throws(() => loadConfigFile(file('bad.json', '{ nope')), /not valid JSON/);
    assert.throws(() => loadConfigFile(join(dir, 'missing.json')), /cannot read/);
  });

  it('bad values name the field, the value and the fix', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ bindAddr: 'localhost:7946' }, /bind: "localhost" is not an IP address.*127\.0\.0\.1:7946/],
      [{ bindAddr: '127.0.0.1' }, /bind: "127\.0\.0\.1" is not an ip:port/],
      [{ profile: 'fast' }, /profile: expected lan, wan or local; got "fast"/],
      [{ logLevel: 'loud' }, /log-level: expected debug, info, warn or error/],
      [{ encryptKey: 'short' }, /encrypt: .*base64|bytes/],
      [{ httpToken: 'abc' }, /http-token: the token is shorter than 8 characters/],
      [{ advertiseAddr: '10.0.0.1:0' }, /advertise: port 0 is not allowed/],
    ];
    for (const [layer, re] of cases) assert.throws(() => resolveConfig(layer), re, JSON.stringify(layer));
    assert.throws(() => configFromEnv({ GOSSIP_TAGS: 'novalue' }), /KEY=VALUE/);
    assert.throws(() => configFromEnv({ GOSSIP_REPLAY: 'maybe' }), /true or false/);
    assert.throws(() => flagsLayer(['--tag', 'x']), /KEY=VALUE/);
  });

  it('durations: flags, env and serf config keys take Go durations', () => {
    assert.equal(resolveConfig(flagsLayer(['--reconnect-interval', '5s']).layer).reconnectIntervalMs, 5000);
    assert.equal(
      resolveConfig(configFromEnv({ GOSSIP_RECONNECT_TIMEOUT: '1h30m' })).reconnectTimeoutMs,
      5_400_000,
    );
    assert.equal(
      resolveConfig(loadConfigFile(file('d.json', { tombstone_timeout: '24h' }))).tombstoneTimeoutMs,
      86_400_000,
    );
    assert.throws(() => flagsLayer(['--reconnect-interval', 'soon']), /expected a duration such as 5s/);
  });

  it('cluster label: flag, environment and file; too long or half a migration is refused with the fix', () => {
    assert.equal(resolveConfig(flagsLayer(['--label', 'prod']).layer).label, 'prod');
    assert.equal(resolveConfig(configFromEnv({ GOSSIP_LABEL: 'prod' })).label, 'prod');
    const f = loadConfigFile(file('l.json', { label: 'prod', label_accept_unlabeled: true }));
    assert.equal(resolveConfig(f).labelAcceptUnlabeled, true);
    assert.equal(defaultAgentConfig().label, '');
    assert.throws(() => resolveConfig(flagsLayer(['--label', 'x'.repeat(256)]).layer), /at most 255/);
    assert.throws(
      () => resolveConfig(flagsLayer(['--label', 'prod', '--label-send-unlabeled']).layer),
      /--label-accept-unlabeled/,
    );
    assert.throws(() => resolveConfig(flagsLayer(['--label-accept-unlabeled']).layer), /set --label NAME/);
  });

  it('--keyring-dir excludes --encrypt and --keyring-file; --shutdown-grace has a floor', () => {
    assert.equal(
      resolveConfig(flagsLayer(['--keyring-dir', '/etc/gossip/keys']).layer).keyringDir,
      '/etc/gossip/keys',
    );
    assert.throws(
      () => resolveConfig(flagsLayer(['--keyring-dir', '/k', '--encrypt', 'AAECAwQFBgcICQoLDA0ODw==']).layer),
      /put the key in DIR\/primary/,
    );
    assert.equal(resolveConfig(flagsLayer(['--shutdown-grace', '45s']).layer).shutdownGraceMs, 45_000);
    assert.throws(() => resolveConfig(flagsLayer(['--shutdown-grace', '1s']).layer), /at least 2s/);
  });

  it('event handler specs parse as serf does', () => {
    assert.deepEqual(parseHandlerSpec('./all.sh'), [{ event: '*', name: '', command: './all.sh' }]);
    assert.deepEqual(parseHandlerSpec('user:deploy=./d.sh'), [
      { event: 'user', name: 'deploy', command: './d.sh' },
    ]);
    assert.deepEqual(
      parseHandlerSpec('member-join,member-leave=./m.sh').map((s) => s.event),
      ['member-join', 'member-leave'],
    );
    assert.throws(() => parseHandlerSpec('member-explode=./x.sh'), /unknown event type "member-explode"/);
    assert.throws(() => parseHandlerSpec('user='), /no command/);
  });
});
