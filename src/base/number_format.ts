/**
 * Numbers for people: whole numbers with thousands separators, as the reports print them.
 *
 * @module
 */

/**
 * `n` rounded to a whole number, with thousands separators.
 *
 * @example
 * ```ts
 * import { thousands } from "./number_format.ts";
 * import assert from "node:assert/strict";
 * assert.equal(thousands(1234567.6), "1,234,568");
 * ```
 */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
