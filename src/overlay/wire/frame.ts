import { describeError } from "../../base/describe_error.ts";
/**
 * The overlay's wire framing, for node-to-node and client-to-node traffic over plain TCP: each
 * message is a 4-byte big-endian length followed by that many bytes of body — UTF-8 JSON, after
 * the link's authentication tag once the link is authenticated (see `link_auth.ts`). The length
 * is checked before anything is buffered, so a peer cannot make a node hold more than
 * `maxFrameBytes`, and every byte is copied once: a frame's body is allocated at its announced
 * size and filled as bytes arrive. Pure: bytes in, bodies and values out.
 *
 * @module
 */

/** The default cap on one frame's body, in bytes (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A frame broke the rules (too long, or not JSON). */
export class FrameError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The JSON text of `value` as UTF-8 bytes (a frame's body before any tag). */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * The value a frame's JSON body holds.
 *
 * @throws {FrameError} If the body is not UTF-8 JSON (the frame is bad; the stream is not).
 */
export function decodeJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new FrameError(
      `Cannot read a frame: it does not hold JSON (${describeError(error, "message")})`,
    );
  }
}

/**
 * Puts a length header before `body`.
 *
 * @throws {FrameError} If the body is longer than `maxFrameBytes`.
 */
export function frameBody(body: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
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

/**
 * Encodes one value as a frame of JSON.
 *
 * @throws {FrameError} If its JSON is longer than `maxFrameBytes`.
 *
 * @example
 * ```ts
 * import { decodeJson, encodeFrame, FrameReader } from "./frame.ts";
 * import assert from "node:assert/strict";
 * const reader = new FrameReader();
 * assert.deepEqual(reader.push(encodeFrame({ verb: "total" })).map(decodeJson), [{ verb: "total" }]);
 * ```
 */
export function encodeFrame(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  return frameBody(encodeJson(value), maxFrameBytes);
}

/** Splits a byte stream into frame bodies, with a bounded buffer and one copy per byte. */
export class FrameReader {
  #max: number;
  readonly #header = new Uint8Array(4);
  #headerBytes = 0;
  #body: Uint8Array | null = null;
  #bodyBytes = 0;

  /** Creates a reader that refuses frames longer than `maxFrameBytes`. */
  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes;
  }

  /** The longest frame taken, in bytes (it may change between frames, e.g. after a handshake). */
  get maxFrameBytes(): number {
    return this.#max;
  }

  set maxFrameBytes(bytes: number) {
    this.#max = bytes;
  }

  /** True while part of a frame is waiting for more bytes. */
  get hasPartial(): boolean {
    return this.#headerBytes > 0;
  }

  /**
   * Feeds a chunk; returns the bodies of the frames it completes, in order (views of buffers
   * the reader no longer touches).
   *
   * @throws {FrameError} If a frame announces more than `maxFrameBytes`, before its body is
   *   buffered: the stream cannot go on.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const bodies: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#body === null) {
        const take = Math.min(4 - this.#headerBytes, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerBytes);
        this.#headerBytes += take;
        at += take;
        if (this.#headerBytes < 4) break;
        const length = new DataView(this.#header.buffer).getUint32(0);
        if (length > this.#max) {
          throw new FrameError(`Cannot read a frame of ${length} bytes: the limit is ${this.#max}`);
        }
        this.#body = new Uint8Array(length);
        this.#bodyBytes = 0;
      }
      const take = Math.min(this.#body.length - this.#bodyBytes, chunk.length - at);
      this.#body.set(chunk.subarray(at, at + take), this.#bodyBytes);
      this.#bodyBytes += take;
      at += take;
      if (this.#bodyBytes === this.#body.length) {
        bodies.push(this.#body);
        this.#body = null;
        this.#headerBytes = 0;
      }
    }
    return bodies;
  }
}
