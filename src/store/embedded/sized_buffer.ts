/**
 * SharedArrayBuffers whose first 8-byte slot records their capacity (a power of two), so a Worker
 * that receives one can rebuild the same layout: allocate with {@linkcode allocateSized}, read back
 * with {@linkcode capacityOf}. Used by the likes table and the journal ring.
 *
 * @module
 */

/** Limits for {@linkcode allocateSized}, and words for its error message. */
export interface SizedBufferSpec {
  /** Bytes needed for a capacity (the header included). */
  readonly size: (capacity: number) => number;
  /** Smallest and largest capacity asked for. */
  readonly min: number;
  readonly max: number;
  /** Completes "Cannot create …", e.g. `"the likes table as 'maxClients'"`. */
  readonly what: string;
}

/**
 * Allocates a buffer for `requested` entries, rounded up to a power of two, and records that
 * capacity in its first slot.
 *
 * @throws {RangeError} If `requested` is not an integer from `min` to `max`.
 *
 * @example
 * ```ts
 * import { allocateSized, capacityOf } from "./sized_buffer.ts";
 * import assert from "node:assert/strict";
 * const spec = { size: (c: number) => 8 + c * 4, min: 1, max: 1024, what: "the example as 'n'" };
 * const { buffer, capacity } = allocateSized(100, spec);
 * assert.deepEqual([capacity, capacityOf(buffer, spec.size)], [128, 128]);
 * ```
 */
export function allocateSized(
  requested: number,
  spec: SizedBufferSpec,
): { buffer: SharedArrayBuffer; capacity: number } {
  if (!Number.isInteger(requested) || requested < spec.min || requested > spec.max) {
    throw new RangeError(
      `Cannot create ${spec.what} must be an integer from ${spec.min} to ${spec.max}: current value is ${requested}`,
    );
  }
  const capacity = 2 ** Math.ceil(Math.log2(requested));
  const buffer = new SharedArrayBuffer(spec.size(capacity));
  // Written before the buffer is shared; postMessage orders it before any reader.
  new BigInt64Array(buffer, 0, 1)[0] = BigInt(capacity);
  return { buffer, capacity };
}

/**
 * The capacity recorded in a buffer made by {@linkcode allocateSized} with the same `size`.
 *
 * @throws {TypeError} If the buffer was not made that way.
 */
export function capacityOf(buffer: SharedArrayBuffer, size: (capacity: number) => number): number {
  const capacity = buffer.byteLength >= 8 ? Number(new BigInt64Array(buffer, 0, 1)[0]) : 0;
  if (!(capacity > 0) || size(capacity) !== buffer.byteLength) {
    throw new TypeError("Cannot attach to the buffer as it was not made for this layout");
  }
  return capacity;
}
