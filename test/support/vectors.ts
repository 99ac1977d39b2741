/**
 * The captured memberlist/Serf wire vectors (real serf 0.9.4 traffic; see test/vectors/README.md
 * and docs/spec/memberlist-serf-wire.md). A copy lives in the repository so that a fresh
 * checkout (CI) has them; the team's shared originals are in ../shared/spec/vectors.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Directory of the vector files (with a trailing slash). */
export const VECTOR_DIR: string = fileURLToPath(new URL('../vectors/', import.meta.url));

/** The vector files, by base name. */
export const VECTOR_FILES = ['memberlist', 'serf', 'encrypted', 'extra', 'interop-active'] as const;

/** Parses one vector file (`memberlist`, `serf`, ...). */
export function loadVectors<T = unknown>(name: string): T[] {
  return JSON.parse(readFileSync(`${VECTOR_DIR}${name}.json`, 'utf8')) as T[];
}
