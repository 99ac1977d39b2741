import { randomInt } from 'node:crypto';

/** A fresh seed from the OS's CSPRNG, for a real agent's {@link SeededRandom}. Log it to replay a run. */
export function secureSeed(): number {
  return randomInt(0, 2 ** 48 - 1);
}
