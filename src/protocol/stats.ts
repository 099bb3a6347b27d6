/**
 * The `STATS` reply: one line of JSON with the global total and the likes counted per client.
 *
 * @module
 */

import { preview, ProtocolError } from "./grammar.ts";

/**
 * How many clients a plain `STATS` lists at most (those with the most likes), so that its reply
 * stays bounded (about 80 KB at worst) however many clients the server holds.
 */
export const STATS_MAX_CLIENTS = 1000;

/** What `STATS` returns. */
export interface Stats {
  /** Likes counted for everyone. */
  readonly total: number;
  /**
   * Client id (or classic `LikesServer<N>` name) → likes counted for it: the clients asked for
   * (`STATS <client>…`, unknown ones left out), else at most {@linkcode STATS_MAX_CLIENTS} with
   * the most likes.
   */
  readonly clients: Readonly<Record<string, number>>;
  /** How many clients the server holds (more than `clients` lists when it holds many). */
  readonly clientCount: number;
  /** Messages by outcome since the server started. */
  readonly messages: {
    readonly accepted: number;
    readonly duplicates: number;
    readonly rejected: number;
    /** Maybe counted: the store's answer was lost (`ERR store unknown`, Redis only). */
    readonly unknown: number;
  };
  /**
   * Connections open now, accepted since the server started, and refused because
   * `--max-connections` were open.
   */
  readonly connections: {
    readonly open: number;
    readonly accepted: number;
    readonly refused: number;
  };
  /** Number of connection workers. */
  readonly workers: number;
  /** Seconds since the server started. */
  readonly uptimeSeconds: number;
  /** The server process's resident memory, in bytes. */
  readonly memory: { readonly rss: number };
}

/** Formats stats as one line of JSON (without terminator). */
export function formatStats(stats: Stats): string {
  return JSON.stringify(stats);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses a `STATS` reply line, checking the fields every caller relies on (`total`, `clients`).
 *
 * @throws {ProtocolError} If the line is not such JSON.
 *
 * @example
 * ```ts
 * import { parseStats } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const stats = parseStats('{"total":3,"clients":{"LikesServer1":3}}');
 * assert.equal(stats.clients["LikesServer1"], 3);
 * ```
 */
export function parseStats(line: string): Pick<Stats, "total" | "clients"> & Partial<Stats> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ProtocolError("STATS reply is not JSON", preview(line), { cause: error });
  }
  if (typeof value !== "object" || value === null) {
    throw new ProtocolError("STATS reply is not a JSON object", preview(line));
  }
  const { total, clients } = value as Record<string, unknown>;
  if (!isCount(total)) throw new ProtocolError("STATS reply lacks a numeric total", preview(line));
  if (typeof clients !== "object" || clients === null || Array.isArray(clients)) {
    throw new ProtocolError("STATS reply lacks a clients object", preview(line));
  }
  for (const [name, count] of Object.entries(clients)) {
    if (!isCount(count)) {
      throw new ProtocolError(`STATS reply has a bad count for ${preview(name)}`, preview(line));
    }
  }
  return value as Stats;
}
