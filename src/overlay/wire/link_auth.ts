/**
 * Authentication of the overlay's links with the cluster's shared secret, as Serf's and
 * Consul's gossip key does it: a connection is only used once both ends proved that they hold
 * the secret, and every frame after that carries a tag that only a holder of the secret (and of
 * this connection's keys) can make.
 *
 * The handshake (three unauthenticated frames of JSON, each at most
 * {@linkcode MAX_HANDSHAKE_FRAME_BYTES}):
 * 1. the node that accepted the connection sends `{"type":"hello","v":1,"nonce":Ns}`;
 * 2. the caller answers `{"type":"auth","nonce":Nc,"proof":HMAC(secret, "client" Ns Nc)}`;
 * 3. the node checks the proof and answers `{"type":"welcome","proof":HMAC(secret, "server" Ns Nc)}`
 *    (or `{"type":"error",…}` and closes); the caller checks that proof in turn.
 *
 * From then on each direction has its own key, `HMAC(secret, "c2s"|"s2c" Ns Nc)`, and each frame's
 * body is a 32-byte `HMAC(key, sequence number ‖ JSON)` followed by the JSON: a frame that was
 * forged, changed, replayed (from this connection or another), dropped or reordered fails the
 * check, and the connection is closed. Frames are not encrypted: whoever sees the traffic reads
 * the counts. Pure: secrets and bytes in, bytes out.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";

/** The protocol's version, in the hello. */
export const AUTH_VERSION = 1;
/** Longest frame taken before the peer is authenticated, in bytes. */
export const MAX_HANDSHAKE_FRAME_BYTES = 1024;
/** Time a connection has to complete the handshake, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
/** Bytes of the tag at the start of each authenticated frame. */
export const TAG_BYTES = 32;
/** Shortest secret accepted, in characters. */
export const MIN_SECRET_CHARS = 32;

/** A handshake failed, or a frame's tag is wrong: the connection cannot be trusted. */
export class AuthError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "AuthError";
  }
}

const encoder = new TextEncoder();
const LABEL = `likes-overlay/${AUTH_VERSION}`;

/** The cluster's shared secret: whoever holds it may talk to every node. */
export class ClusterSecret {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /**
   * The secret a key file holds: its text, without surrounding white space.
   *
   * @throws {RangeError} If it is shorter than {@linkcode MIN_SECRET_CHARS} characters.
   */
  static fromText(text: string): ClusterSecret {
    const secret = text.trim();
    if (secret.length < MIN_SECRET_CHARS) {
      throw new RangeError(
        `a cluster secret must be at least ${MIN_SECRET_CHARS} characters: this one has ${secret.length} (make one with \`deno task cluster --new-secret FILE\`)`,
      );
    }
    return new ClusterSecret(encoder.encode(secret));
  }

  /** A new random secret, as the text of a key file (32 random bytes, base64url, a newline). */
  static generateText(): string {
    return `${base64url(crypto.getRandomValues(new Uint8Array(32)))}\n`;
  }

  /** The secret as text again (to hand it to a Worker). */
  toText(): string {
    return new TextDecoder().decode(this.#bytes);
  }

  /** HMAC-SHA256 of `parts` (joined by spaces) under the secret. */
  mac(...parts: string[]): Uint8Array {
    return createHmac("sha256", this.#bytes).update(`${LABEL} ${parts.join(" ")}`).digest();
  }
}

/** A fresh random nonce for the handshake. */
export function newNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/** The proof that `role` holds the secret, for the nonces of one connection. */
export function handshakeProof(
  secret: ClusterSecret,
  role: "client" | "server",
  serverNonce: string,
  clientNonce: string,
): string {
  return base64url(secret.mac(role, serverNonce, clientNonce));
}

/** True when `proof` is `role`'s proof for these nonces (compared in constant time). */
export function checkProof(
  secret: ClusterSecret,
  role: "client" | "server",
  serverNonce: string,
  clientNonce: string,
  proof: unknown,
): boolean {
  if (typeof proof !== "string") return false;
  const expected = encoder.encode(handshakeProof(secret, role, serverNonce, clientNonce));
  const given = encoder.encode(proof);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A nonce as a hello or an auth frame carries it: base64url, 16 to 64 characters. */
export function isNonce(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{16,64}$/.test(value);
}

/**
 * One direction of an authenticated connection: tags the frames it sends or checks those it
 * receives, with a sequence number counting frames from 0.
 */
export class FrameTagger {
  readonly #key: Uint8Array;
  #sequence = 0n;

  /** The tagger for `direction` of the connection with these nonces. */
  constructor(
    secret: ClusterSecret,
    direction: "c2s" | "s2c",
    serverNonce: string,
    clientNonce: string,
  ) {
    this.#key = secret.mac(direction, serverNonce, clientNonce);
  }

  #tag(json: Uint8Array): Uint8Array {
    const sequence = new Uint8Array(8);
    new DataView(sequence.buffer).setBigUint64(0, this.#sequence++);
    return createHmac("sha256", this.#key).update(sequence).update(json).digest();
  }

  /** The body to send for `json`: its tag, then the JSON. */
  seal(json: Uint8Array): Uint8Array {
    const body = new Uint8Array(TAG_BYTES + json.length);
    body.set(this.#tag(json));
    body.set(json, TAG_BYTES);
    return body;
  }

  /**
   * The JSON of a body received, once its tag is checked.
   *
   * @throws {AuthError} If the tag is missing or wrong.
   */
  open(body: Uint8Array): Uint8Array {
    if (body.length < TAG_BYTES) {
      throw new AuthError(`a frame of ${body.length} bytes has no authentication tag`);
    }
    const json = body.subarray(TAG_BYTES);
    if (!timingSafeEqual(body.subarray(0, TAG_BYTES), this.#tag(json))) {
      throw new AuthError(
        "a frame's authentication tag is wrong (forged, changed, replayed or out of order)",
      );
    }
    return json;
  }
}
