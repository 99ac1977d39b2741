/**
 * `npm run bench -- NAME --help` prints each benchmark's options; an unknown option, a missing
 * value or a wrong one stops it with exit 2 before it measures anything (a misspelt flag used to
 * be ignored by some, which then ran for minutes on their defaults, or crash others with a stack).
 */
// npm test: untimed (each call only loads a benchmark's module)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../bench/main.ts', import.meta.url));
const NAMES = ['sim', 'codec', 'membership', 'members', 'embedded', 'cli-start', 'state'];

function bench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('npm run bench options', () => {
  it('lists the benchmarks, and refuses an unknown one with exit 2', async () => {
    const [help, none, wrong] = await Promise.all([bench('--help'), bench(), bench('nope')]);
    assert.equal(help.code, 0);
    for (const name of NAMES) assert.ok(help.stdout.includes(name), `--help lists ${name}`);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^usage: npm run bench -- </m);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /no benchmark named "nope"/);
  });

  for (const name of NAMES) {
    it(`${name}: --help prints its options; an unknown option exits 2 before it runs`, async () => {
      const [help, unknown] = await Promise.all([bench(name, '--help'), bench(name, '--no-such-option')]);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: npm run bench -- ${name} \\[--`));
      assert.equal(unknown.code, 2, `exit ${unknown.code}; stdout: ${unknown.stdout.slice(0, 300)}`);
      assert.equal(unknown.stdout, '', 'nothing measured');
      assert.match(unknown.stderr, new RegExp(`^bench ${name}: Unknown option '--no-such-option'`));
      assert.match(unknown.stderr, new RegExp(`usage: npm run bench -- ${name} `));
      assert.doesNotMatch(unknown.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('a wrong value is named with the usage, exit 2, no stack trace', async () => {
    const r = await bench('codec', '--seconds', 'soon');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^bench codec: --seconds takes a positive number, got "soon"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
