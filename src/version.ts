/**
 * This package's version, as in package.json. The build (`scripts/build.mjs`, also run by
 * `npm version`) writes it here, so nothing reads a file at import time.
 */
export const PACKAGE_VERSION: string = '0.1.0';

/**
 * Protocol versions this implementation speaks on the wire. They are what a Serf 0.9.4 agent
 * advertises (`Vsn = [1, 5, 2, 2, 5, 5]`), so the version check of every peer passes.
 */

/** memberlist protocol versions understood, and the one spoken. */
export const MEMBERLIST_PROTOCOL_MIN = 1;
export const MEMBERLIST_PROTOCOL_MAX = 5;
export const MEMBERLIST_PROTOCOL_CURRENT = 2;

/** Serf ("delegate") protocol versions understood, and the one spoken (the Serf agent's). */
export const SERF_PROTOCOL_MIN = 2;
export const SERF_PROTOCOL_MAX = 5;
export const SERF_PROTOCOL_CURRENT = 5;

export const PROTOCOL_SUMMARY =
  `memberlist protocol ${MEMBERLIST_PROTOCOL_CURRENT} (understands ${MEMBERLIST_PROTOCOL_MIN}-${MEMBERLIST_PROTOCOL_MAX}), ` +
  `Serf protocol ${SERF_PROTOCOL_CURRENT} (understands ${SERF_PROTOCOL_MIN}-${SERF_PROTOCOL_MAX})`;
