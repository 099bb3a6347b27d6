/**
 * The byte values and character classes the byte-level protocol code shares.
 *
 * @module
 */

/** `\n`. */
export const LF = 0x0a;
/** `\r`. */
export const CR = 0x0d;
/** The NUL byte. */
export const NUL = 0x00;
/** `0`. */
export const ZERO = 0x30;

/** True for a space or a tab: what separates fields. */
export function isBlank(b: number): boolean {
  return b === 0x20 || b === 0x09;
}

/** True for `0`..`9`. */
export function isDigit(b: number): boolean {
  return b >= ZERO && b <= 0x39;
}
