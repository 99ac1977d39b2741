/**
 * The package's root directory (where package.json and web/ live), found by walking up from
 * this module, so that paths stay right whether the code runs from `src/` through tsx or from
 * the prebuilt bundle in `dist/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'gossip') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find the gossip package root above ${fileURLToPath(import.meta.url)}`);
}

/** Absolute path of the package root. */
export const PACKAGE_ROOT: string = find();
