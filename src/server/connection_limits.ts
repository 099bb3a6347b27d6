/**
 * How the server treats each client connection, declared once: `serveLikes()` takes these (each
 * optional, defaulting to `SERVER_DEFAULTS`), the server's flags set them, and every connection
 * Worker is given them.
 *
 * @module
 */

/** The per-connection settings of the server (defaults: `SERVER_DEFAULTS`). */
export interface ConnectionLimits {
  /** Largest number of likes in one message (default 42). */
  readonly maxLikes: number;
  /** Longest frame, in bytes (default 512). */
  readonly maxLineBytes: number;
  /** Silence after which an unterminated message is answered, in ms (default 50). */
  readonly pauseMs: number;
  /** Silence after which a connection is dropped, in ms (default 30000). */
  readonly idleTimeoutMs: number;
  /** A write to a client stuck this long closes its connection, in ms (default 5000). */
  readonly writeTimeoutMs: number;
  /**
   * Replies buffered per connection, in bytes, past which the server stops reading from that
   * client until they drain (default 65536).
   */
  readonly replyBufferBytes: number;
  /** Open connections, all Workers together, past which new ones get `ERR too many connections` (default 10000). */
  readonly maxConnections: number;
}
