/**
 * The keyring file (serf's `-keyring-file` format): a JSON array of base64 keys, the primary
 * first. Read at start; rewritten (atomically) whenever the keyring changes, whether by a local
 * `gossip keys` command or by a key query from another node.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.ts';
import { Keyring } from '../wire/crypto.ts';

/** Reads a keyring file; undefined when it does not exist. */
export function readKeyringFile(path: string): Keyring | undefined {
  if (!existsSync(path)) return undefined;
  let keys: unknown;
  try {
    keys = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError('keyring-file', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
    throw new ConfigError(
      'keyring-file',
      `${path} must hold a non-empty JSON array of base64 keys, primary first`,
    );
  }
  try {
    return new Keyring(keys.map((k) => Keyring.parseKey(k as string)));
  } catch (e) {
    throw new ConfigError('keyring-file', `${path}: ${(e as Error).message}`);
  }
}

/** Writes the keyring (primary first) through a temporary file, mode 0600. */
export function writeKeyringFile(path: string, keyring: Keyring): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  const keys = keyring.keys.map((k) => Buffer.from(k).toString('base64'));
  writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
