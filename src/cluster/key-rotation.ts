/**
 * Declarative key rotation: given the keyring a node is told to have (from files, say: one
 * primary key and any number of secondaries) and what a cluster-wide key listing found, the next
 * key operation that moves the cluster toward it, or why to wait. Pure: the caller runs the
 * operation (through {@link KeyManager}), lists again, and asks again, until `done`.
 *
 * The order is Serf's safe rotation (install → use → remove), with its checks:
 * 1. every desired key is installed on every member (a member can decrypt with it);
 * 2. then, and only when every member that publishes a desired keyring agrees with ours (so two
 *    nodes whose files differ while an update propagates never switch the primary back and
 *    forth), the desired primary is made primary everywhere — after the listing showed that
 *    every member holds it;
 * 3. then every key that is not desired is removed (members refuse to remove their primary).
 *
 * A listing that not every member answered stops everything: a member that missed a step must
 * not be cut off by the next one.
 */
import { createHash } from 'node:crypto';
import type { KeyResponse } from './keymanager.ts';

/** A keyring to reach: base64 keys, the primary among them. */
export interface DesiredKeyring {
  primary: string;
  /** Every desired key, the primary included. */
  keys: readonly string[];
}

/** What the members publishing a desired keyring say about it. */
export interface KeyringAgreement {
  /** Members whose published fingerprint differs from ours (names). */
  disagreeing: readonly string[];
}

/** The next step toward a {@link DesiredKeyring}. */
export type RotationAction =
  | { op: 'install'; key: string; reason: string }
  | { op: 'use'; key: string; reason: string }
  | { op: 'remove'; key: string; reason: string }
  | { op: 'wait'; reason: string }
  | { op: 'done' };

/** A short, stable name for a key in logs: the first 8 hex digits of its SHA-256 (never the key). */
export function keyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * A fingerprint of a desired keyring (primary and set; order of secondaries does not matter),
 * short enough for a Serf tag: 12 hex digits of a SHA-256. Reveals nothing usable about the keys.
 */
export function keyringFingerprint(d: DesiredKeyring): string {
  const set = [...new Set(d.keys)].sort();
  return createHash('sha256')
    .update(`primary:${d.primary}\n${set.join('\n')}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * The next action. `listing` is a fresh `listKeys()` answer; `usedPrimary` is the key a `use`
 * already succeeded for on every member (needed with members that do not report their primary,
 * such as Serf 0.8, so that the same `use` is not sent forever).
 */
export function nextRotationStep(
  desired: DesiredKeyring,
  listing: KeyResponse,
  agreement: KeyringAgreement,
  usedPrimary: string | undefined,
): RotationAction {
  const n = listing.numNodes;
  if (listing.numResp < n || listing.numErr > 0) {
    return {
      op: 'wait',
      reason: `the key listing reached ${listing.numResp - listing.numErr} of ${n} members: every member must answer before a key changes`,
    };
  }
  for (const key of desired.keys) {
    const holders = listing.keys[key] ?? 0;
    if (holders < n) {
      return { op: 'install', key, reason: `${holders} of ${n} members hold it` };
    }
  }
  const primaryUsers = listing.primaryKeys[desired.primary] ?? 0;
  const unreported = listing.primaryKeys[''] ?? 0;
  const primaryDone =
    primaryUsers === n || (usedPrimary === desired.primary && primaryUsers + unreported === n);
  const extra = Object.keys(listing.keys).filter((k) => k !== '' && !desired.keys.includes(k));
  if (!primaryDone || extra.length > 0) {
    if (agreement.disagreeing.length > 0) {
      const names = agreement.disagreeing.slice(0, 5).join(', ');
      const more = agreement.disagreeing.length > 5 ? ` and ${agreement.disagreeing.length - 5} more` : '';
      return {
        op: 'wait',
        reason: `members ${names}${more} have other key files (still being updated?): the primary changes and keys go only when every member agrees`,
      };
    }
  }
  if (!primaryDone) {
    return {
      op: 'use',
      key: desired.primary,
      reason: `every member holds it; ${primaryUsers} of ${n} use it`,
    };
  }
  const old = extra[0];
  if (old !== undefined) return { op: 'remove', key: old, reason: 'no longer in the desired keyring' };
  return { op: 'done' };
}
