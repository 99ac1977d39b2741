/** Byte helpers shared by every layer (the wire is the ground floor). */

/** Whether two byte sequences hold the same bytes; `null` equals nothing. */
export function sameBytes(a: ArrayLike<number>, b: ArrayLike<number> | null): boolean {
  if (b === null || a.length !== b.length) return false;
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
