/**
 * The overlay's wire framing, for node-to-node and client-to-node traffic over plain TCP: each
 * message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. The length is
 * checked before anything is buffered, so a peer cannot make a node hold more than
 * `maxFrameBytes`; a long answer is sent as several frames, never refused for its size. Pure:
 * bytes in, values out.
 *
 * @module
 */

/** The default cap on one frame's JSON, in bytes (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A frame broke the rules (too long, or not JSON): the connection cannot go on. */
export class FrameError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes one value as a frame.
 *
 * @throws {FrameError} If its JSON is longer than `maxFrameBytes`.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader } from "./frame.ts";
 * import assert from "node:assert/strict";
 * const reader = new FrameReader();
 * assert.deepEqual(reader.push(encodeFrame({ verb: "total" })), [{ verb: "total" }]);
 * ```
 */
export function encodeFrame(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const body = encoder.encode(JSON.stringify(value));
  if (body.length > maxFrameBytes) {
    throw new FrameError(
      `Cannot send a frame of ${body.length} bytes: the limit is ${maxFrameBytes}`,
    );
  }
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Splits a byte stream into the values of its frames, with a bounded buffer. */
export class FrameReader {
  readonly #max: number;
  #buffer = new Uint8Array(0);

  /** Creates a reader that refuses frames longer than `maxFrameBytes`. */
  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes;
  }

  /** True while part of a frame is waiting for more bytes. */
  get hasPartial(): boolean {
    return this.#buffer.length > 0;
  }

  /**
   * Feeds a chunk; returns the values of the frames it completes, in order.
   *
   * @throws {FrameError} If a frame announces more than `maxFrameBytes` (before it is buffered)
   *   or does not hold JSON.
   */
  push(chunk: Uint8Array): unknown[] {
    let bytes = chunk;
    if (this.#buffer.length > 0) {
      bytes = new Uint8Array(this.#buffer.length + chunk.length);
      bytes.set(this.#buffer);
      bytes.set(chunk, this.#buffer.length);
    }
    const values: unknown[] = [];
    let at = 0;
    while (bytes.length - at >= 4) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
      if (length > this.#max) {
        throw new FrameError(`Cannot read a frame of ${length} bytes: the limit is ${this.#max}`);
      }
      if (bytes.length - at - 4 < length) break;
      const body = bytes.subarray(at + 4, at + 4 + length);
      try {
        values.push(JSON.parse(decoder.decode(body)));
      } catch (error) {
        throw new FrameError(
          `Cannot read a frame: it does not hold JSON (${
            error instanceof Error ? error.message : error
          })`,
        );
      }
      at += 4 + length;
    }
    this.#buffer = bytes.slice(at);
    return values;
  }
}
