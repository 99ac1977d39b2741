/**
 * The API reference (TypeDoc over the TSDoc comments of `gossip`, `gossip/wire` and
 * `gossip/client`, configured in typedoc.json; `npm run docs:api` writes it to docs/api) builds
 * without a warning: no `{@link}` to nothing, no exported API that refers to a type the package
 * does not export. Generated without writing (`--emit none`) and without a second type check.
 */
// npm test: untimed (TypeDoc over the sources)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

it('the API reference generates with no TypeDoc warning', async () => {
  // typedoc's package exports no bin path; its file is there all the same.
  const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(
      process.execPath,
      [typedoc, '--emit', 'none', '--skipErrorChecking', '--treatWarningsAsErrors', '--disableSources'],
      { cwd: ROOT, timeout: 300_000, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : null, out: `${stdout}${stderr}` });
      },
    );
  });
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /\[warning\]|\[error\]/);
});
