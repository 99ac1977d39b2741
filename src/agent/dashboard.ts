/**
 * The built web dashboard, ready to serve: {@link loadDashboardAssets} reads `web/dist` once
 * (the agent calls it on the first request for a page, so that an agent nobody opens the
 * dashboard of holds none of it) into memory, with each file's content type, cache policy, ETag
 * and a gzip copy decided here, so the HTTP server only looks a path up and writes the bytes.
 *
 * Cache policy: Vite names everything under `assets/` by content hash, so those are cached for
 * a year and marked immutable; `index.html` (which names the current hashes) is `no-cache`, so
 * a browser revalidates it (cheaply, by ETag) and picks up a new build at once.
 *
 * No HTTP code lives here. The server serves `/` as `index.html`, answers a HEAD or a GET, uses
 * `gzip` when the client accepts it (adding `Vary: Accept-Encoding`), answers `If-None-Match`
 * with 304, and adds {@link DASHBOARD_HEADERS}. These files hold no cluster data (the page reads
 * everything from `/v1/` with the token), so they can be served without the token: a browser
 * cannot put one on the `<script>` request of a page opened as `/?token=...`.
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../errors.ts';

/** One file of the dashboard, as the HTTP server sends it. */
export interface DashboardAsset {
  body: Buffer;
  /** The gzip-compressed body, when that is smaller; send it with `Content-Encoding: gzip`. */
  gzip: Buffer | undefined;
  contentType: string;
  cacheControl: string;
  /** A strong ETag (quoted), from the content. */
  etag: string;
}

/** Asset map: URL path (`/index.html`, `/assets/index-abc123.js`, and `/` for the index) to asset. */
export type DashboardAssets = ReadonlyMap<string, DashboardAsset>;

/**
 * Where the build writes the dashboard: `web/dist` at the package root. This module sits two
 * levels below the root both as a source (`src/agent/`) and built (`dist/agent/`), and the
 * package ships `web/dist`, so the path is known without touching the file system.
 */
export const DASHBOARD_DIST_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/** Most files loaded; a build has a handful. More means a wrong directory. */
export const DASHBOARD_MAX_FILES = 200;
/** Most bytes loaded in all (uncompressed); the build is about 150 KB. */
export const DASHBOARD_MAX_BYTES = 8 * 1024 * 1024;
/** Files below this size are not worth compressing. */
const GZIP_MIN_BYTES = 512;

export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_REVALIDATE = 'no-cache';

/**
 * Headers to send with every dashboard file. The page loads only its own script (no inline
 * script, no third-party origin) and talks only to this agent. Styles need `'unsafe-inline'`:
 * the page sets `style` attributes and lit adopts its components' style sheets. `no-referrer`
 * because the page may be opened with `?token=` in its address.
 */
export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;

/** The content type for a file name; `application/octet-stream` when unknown. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Hashed build output is immutable; anything else (the index) must be revalidated. */
export function cacheControlFor(urlPath: string): string {
  return urlPath.startsWith('/assets/') ? CACHE_IMMUTABLE : CACHE_REVALIDATE;
}

/**
 * Reads the built dashboard from `dir` (default {@link DASHBOARD_DIST_DIR}) into memory. Call it
 * once at start. Throws a {@link ConfigError} (field `dashboard`) naming the fix when the
 * dashboard has not been built, and when the directory holds more than
 * {@link DASHBOARD_MAX_FILES} files or {@link DASHBOARD_MAX_BYTES} bytes.
 */
export function loadDashboardAssets(dir: string = DASHBOARD_DIST_DIR): DashboardAssets {
  const missing = dashboardMissing(dir);
  if (missing !== undefined) throw new ConfigError('dashboard', missing);
  const files: string[] = [];
  walk(dir, files);
  const assets = new Map<string, DashboardAsset>();
  let total = 0;
  for (const file of files) {
    const body = readFileSync(file);
    total += body.length;
    if (total > DASHBOARD_MAX_BYTES) {
      throw new ConfigError(
        'dashboard',
        `${dir} holds over ${DASHBOARD_MAX_BYTES} bytes: is it the dashboard build?`,
      );
    }
    const urlPath = `/${relative(dir, file).split(sep).join('/')}`;
    assets.set(urlPath, makeAsset(urlPath, body));
  }
  assets.set('/', assets.get('/index.html')!);
  return assets;
}

/**
 * Why the dashboard cannot be served from `dir` (it is not built), or undefined when it can. A
 * cheap check for the agent's start; the files themselves are read on the first request.
 */
export function dashboardMissing(dir: string = DASHBOARD_DIST_DIR): string | undefined {
  const index = join(dir, 'index.html');
  return isFile(index)
    ? undefined
    : `the dashboard is not built: run npm run build (no ${index}); or start the agent with the dashboard off`;
}

function makeAsset(urlPath: string, body: Buffer): DashboardAsset {
  const contentType = contentTypeFor(urlPath);
  let gzip: Buffer | undefined;
  if (body.length >= GZIP_MIN_BYTES && COMPRESSIBLE.test(contentType)) {
    const z = gzipSync(body, { level: 9 });
    if (z.length < body.length) gzip = z;
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, gzip, contentType, cacheControl: cacheControlFor(urlPath), etag };
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    // Dotfiles are never part of a build (and may be secrets).
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile()) {
      out.push(p);
      if (out.length > DASHBOARD_MAX_FILES) {
        throw new ConfigError(
          'dashboard',
          `${dir} holds over ${DASHBOARD_MAX_FILES} files: is it the dashboard build?`,
        );
      }
    }
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
