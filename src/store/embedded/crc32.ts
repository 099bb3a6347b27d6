/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) for journal records and snapshots.
 *
 * @module
 */

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/**
 * The CRC-32 of `bytes` (or of `bytes[start..end)`) as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * import assert from "node:assert/strict";
 * assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
