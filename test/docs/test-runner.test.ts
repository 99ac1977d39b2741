// npm test: untimed (runs a script that exits before building or testing anything)
/**
 * `scripts/test.mjs`, the runner behind `npm test`: `--help` says what it takes, and wrong
 * arguments stop it at once (exit 2, before the build) instead of being taken for test files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/test.mjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

describe('scripts/test.mjs arguments', () => {
  it('--help lists the options and exits 0', () => {
    const r = run('--help');
    assert.equal(r.status, 0, r.stderr);
    for (const option of [
      '--only PATTERN',
      '--jobs N',
      '--skip-static',
      'FILE',
      'GOSSIP_TEST_FILE_TIMEOUT_S',
    ])
      assert.ok(r.stdout.includes(option), `--help names ${option}`);
  });

  it('an unknown option, a missing value or a missing file: exit 2 with the reason, nothing built', () => {
    for (const [args, reason] of [
      [['--bogus'], 'unknown option --bogus'],
      [['--only'], '--only needs a value'],
      [['--jobs', '--skip-static'], '--jobs needs a value'],
      [['test/no/such.test.ts'], 'no such test file: test/no/such.test.ts'],
    ] as const) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(reason), `${args.join(' ')}: says "${reason}": ${r.stderr}`);
      assert.ok(!r.stdout.includes('build.mjs'), `${args.join(' ')}: stopped before the build`);
    }
  });
});
