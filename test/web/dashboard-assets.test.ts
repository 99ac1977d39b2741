// Loading the built dashboard for the agent to serve (src/agent/dashboard.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  CACHE_IMMUTABLE,
  CACHE_REVALIDATE,
  contentTypeFor,
  DASHBOARD_DIST_DIR,
  DASHBOARD_HEADERS,
  DASHBOARD_MAX_FILES,
  loadDashboardAssets,
} from '../../src/agent/dashboard.ts';
import { ConfigError } from '../../src/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'gossip-dashboard-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeBuild(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), `<!doctype html><title>x</title>${'<p>hello</p>'.repeat(100)}`);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), `console.log(${JSON.stringify('x'.repeat(2000))});`);
  writeFileSync(join(dir, 'assets', 'logo-9f8e.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(dir, '.secret'), 'not served');
  return dir;
}

describe('loadDashboardAssets', () => {
  it('maps URL paths to bodies with content type, cache policy, ETag and gzip', () => {
    const assets = loadDashboardAssets(fakeBuild('ok'));
    assert.deepEqual([...assets.keys()].sort(), [
      '/',
      '/assets/index-AbC123.js',
      '/assets/logo-9f8e.png',
      '/index.html',
    ]);
    const index = assets.get('/index.html')!;
    assert.equal(assets.get('/'), index);
    assert.equal(index.contentType, 'text/html; charset=utf-8');
    assert.equal(index.cacheControl, CACHE_REVALIDATE);
    assert.match(index.etag, /^"[A-Za-z0-9_-]{27}"$/);
    assert.ok(index.gzip);
    assert.deepEqual(gunzipSync(index.gzip), index.body);

    const js = assets.get('/assets/index-AbC123.js')!;
    assert.equal(js.contentType, 'text/javascript; charset=utf-8');
    assert.equal(js.cacheControl, CACHE_IMMUTABLE);
    assert.notEqual(js.etag, index.etag);

    const png = assets.get('/assets/logo-9f8e.png')!;
    assert.equal(png.contentType, 'image/png');
    assert.equal(png.gzip, undefined, 'binary and tiny files are not compressed');
  });

  it('names the fix when the dashboard is not built', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    assert.throws(
      () => loadDashboardAssets(dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.field === 'dashboard' &&
        err.message.includes('the dashboard is not built: run npm run build'),
    );
    assert.throws(() => loadDashboardAssets(join(root, 'missing')), /npm run build/);
  });

  it('refuses a directory with too many files', () => {
    const dir = fakeBuild('big');
    for (let i = 0; i <= DASHBOARD_MAX_FILES; i++) writeFileSync(join(dir, 'assets', `f${i}.txt`), 'x');
    assert.throws(() => loadDashboardAssets(dir), /files: is it the dashboard build/);
  });

  it('has a content security policy that allows only this origin’s scripts', () => {
    const csp = DASHBOARD_HEADERS['Content-Security-Policy']!;
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
    assert.equal(DASHBOARD_HEADERS['Referrer-Policy'], 'no-referrer');
  });

  it('knows the usual content types', () => {
    assert.equal(contentTypeFor('a.CSS'), 'text/css; charset=utf-8');
    assert.equal(contentTypeFor('a.svg'), 'image/svg+xml');
    assert.equal(contentTypeFor('a.woff2'), 'font/woff2');
    assert.equal(contentTypeFor('a.unknown'), 'application/octet-stream');
  });

  it('points at web/dist by default', () => {
    assert.match(DASHBOARD_DIST_DIR.replaceAll('\\', '/'), /\/web\/dist\/$/);
  });

  it('loads the real build (npm install builds it), whose index names only assets it has', () => {
    const assets = loadDashboardAssets();
    const html = assets.get('/index.html')!.body.toString('utf8');
    const refs = [...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => `/${m[1]}`);
    assert.ok(
      refs.some((r) => r.endsWith('.js')),
      'the index loads a script',
    );
    for (const r of refs) assert.ok(assets.has(r), `${r} is in the build`);
    for (const [path, a] of assets) {
      if (path.startsWith('/assets/')) assert.equal(a.cacheControl, CACHE_IMMUTABLE, path);
    }
  });
});
