/**
 * Bytes → frames, for every framing that clients in the wild use:
 * `\n`, `\r\n`, a NUL (then any NUL padding is skipped), classic messages back to back with no
 * delimiter (`LikesServer1 3LikesServer2 4`), and an unterminated message that the caller ends
 * with {@linkcode FrameDecoder.flush} when the client pauses or half-closes.
 *
 * The buffer is capped: bytes beyond `maxLineBytes` are counted and dropped, never stored.
 *
 * @module
 */

/** How a frame ended; a reply ends the same way. `""` is "no terminator". */
export type Terminator = "\n" | "\r\n" | "\0" | "";

/** One frame. `bytes` is a view that stays valid only until the decoder's next call. */
export interface Frame {
  /** The frame's bytes without its terminator (at most `maxLineBytes` of them). */
  readonly bytes: Uint8Array;
  /** How the frame ended. */
  readonly terminator: Terminator;
  /** The frame's full length, which exceeds `bytes.length` when it was too long. */
  readonly length: number;
  /** True when the frame was longer than `maxLineBytes`; its tail was dropped. */
  readonly overlong: boolean;
  /**
   * How an unterminated frame was ended by the reader rather than by the client: `pause` (the
   * client fell silent), `abandoned` (a keyed message the server stopped waiting for: it is
   * incomplete and must not be counted). Absent otherwise.
   */
  readonly ended?: "pause" | "abandoned";
}

/** Options for {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Longest frame kept; longer frames are reported as overlong. @default {512} */
  readonly maxLineBytes?: number;
}

import { CR, isBlank, isDigit, LF, NUL } from "./ascii.ts";

/** The default cap on a frame's length in bytes. */
export const DEFAULT_MAX_LINE_BYTES = 512;

const CLASSIC_PREFIX = new TextEncoder().encode("LikesServer");
const KEYED_PREFIX = new TextEncoder().encode("LIKE");
const CLASSIC_START = CLASSIC_PREFIX[0]!;

/** True when `bytes` is exactly `[blanks]LikesServer<digits><blanks><digits>`. */
function isCompleteClassic(bytes: Uint8Array, length: number): boolean {
  let i = 0;
  while (i < length && isBlank(bytes[i]!)) i++;
  if (length - i < CLASSIC_PREFIX.length) return false;
  for (let k = 0; k < CLASSIC_PREFIX.length; k++, i++) {
    if (bytes[i] !== CLASSIC_PREFIX[k]) return false;
  }
  const nameDigits = i;
  while (i < length && isDigit(bytes[i]!)) i++;
  if (i === nameDigits) return false;
  const blanks = i;
  while (i < length && isBlank(bytes[i]!)) i++;
  if (i === blanks) return false;
  const likesDigits = i;
  while (i < length && isDigit(bytes[i]!)) i++;
  return i === length && i > likesDigits;
}

/**
 * Splits a byte stream into frames with a bounded buffer.
 *
 * @example Three framings in one chunk
 * ```ts
 * import { FrameDecoder } from "./framing.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * const decoder = new FrameDecoder();
 * decoder.push(new TextEncoder().encode("LikesServer1 2\nLikesServer3 4LikesServer5 6"), (f) => {
 *   seen.push(`${new TextDecoder().decode(f.bytes)}|${JSON.stringify(f.terminator)}`);
 * });
 * decoder.flush((f) => seen.push(`${new TextDecoder().decode(f.bytes)}|${JSON.stringify(f.terminator)}`));
 * assert.deepEqual(seen, ['LikesServer1 2|"\\n"', 'LikesServer3 4|""', 'LikesServer5 6|""']);
 * ```
 */
export class FrameDecoder {
  readonly #max: number;
  readonly #buffer: Uint8Array;
  #length = 0;
  #received = 0;
  #lastByte = -1;
  #afterNul = false;

  /** Creates a decoder with an empty buffer. */
  constructor(options: FrameDecoderOptions = {}) {
    const { maxLineBytes = DEFAULT_MAX_LINE_BYTES } = options;
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 16) {
      throw new RangeError(
        `Cannot create a frame decoder as 'maxLineBytes' must be an integer of at least 16: current value is ${maxLineBytes}`,
      );
    }
    this.#max = maxLineBytes;
    this.#buffer = new Uint8Array(maxLineBytes);
  }

  /** True when bytes of an unfinished frame are waiting (see {@linkcode FrameDecoder.flush}). */
  get hasPartial(): boolean {
    return this.#received > 0;
  }

  /**
   * Feeds a chunk; calls `emit` for every frame it completes, in order. When `emit` returns
   * `false` the decoder stops right after that frame and returns how many bytes of `chunk` it
   * used: the caller pushes the rest later (this is how a connection stops reading while its
   * replies wait for a slow client).
   *
   * @returns The number of bytes of `chunk` consumed (`chunk.length` unless `emit` said stop).
   */
  push(chunk: Uint8Array, emit: (frame: Frame) => boolean | void): number {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#afterNul) {
        if (b === NUL) continue;
        this.#afterNul = false;
      }
      if (b === LF) {
        if (this.#emit(this.#lastByte === CR ? "\r\n" : "\n", emit) === false) return i + 1;
      } else if (b === NUL) {
        this.#afterNul = true;
        if (this.#emit("\0", emit) === false) return i + 1;
      } else {
        if (
          b === CLASSIC_START && this.#received === this.#length && isDigit(this.#lastByte) &&
          isCompleteClassic(this.#buffer, this.#length) && this.#emit("", emit) === false
        ) {
          return i; // this byte starts the next frame: the next push begins with it
        }
        if (this.#length < this.#max) this.#buffer[this.#length++] = b;
        this.#received++;
        this.#lastByte = b;
      }
    }
    return chunk.length;
  }

  /**
   * True when the unfinished frame is, or may still become, a keyed message (`LIKE …`, after any
   * blanks). A keyed message is complete only at its newline, the end of the stream or a reset:
   * never at a pause, because a segment retransmitted after a pause would otherwise split it
   * into a smaller count and an error.
   */
  get partialMayBeKeyed(): boolean {
    if (!this.hasPartial) return false;
    let i = 0;
    while (i < this.#length && (isBlank(this.#buffer[i]!) || this.#buffer[i] === CR)) i++;
    if (i === this.#length) return false;
    for (let k = 0; k < KEYED_PREFIX.length; k++, i++) {
      if (i === this.#length) return true; // a prefix of "LIKE"
      if (this.#buffer[i] !== KEYED_PREFIX[k]) return false;
    }
    return i === this.#length || isBlank(this.#buffer[i]!);
  }

  /**
   * Ends the unfinished frame, if any, as an unterminated one: the client half-closed, closed or
   * reset (`ended` absent), or paused (`"pause"`).
   */
  flush(emit: (frame: Frame) => void, ended?: "pause"): void {
    if (this.hasPartial) this.#emit("", emit, ended);
  }

  /**
   * Gives up on the unfinished frame, if any (the server closes the connection before it ended):
   * it is emitted with `ended: "abandoned"` and a `\n` terminator, so that its reply is a line.
   */
  abandon(emit: (frame: Frame) => void): void {
    if (this.hasPartial) this.#emit("\n", emit, "abandoned");
  }

  #emit(
    terminator: Terminator,
    emit: (frame: Frame) => boolean | void,
    ended?: "pause" | "abandoned",
  ): boolean | void {
    let end = this.#length;
    let length = this.#received;
    if (terminator === "\r\n") {
      // The CR belongs to the terminator; it sits in the buffer only if it fitted.
      if (length <= this.#max) end--;
      length--;
    }
    const overlong = length > this.#max;
    const bytes = this.#buffer.subarray(0, Math.min(end, this.#max));
    this.#length = 0;
    this.#received = 0;
    this.#lastByte = -1;
    return emit(
      ended === undefined
        ? { bytes, terminator, length, overlong }
        : { bytes, terminator, length, overlong, ended },
    );
  }
}
