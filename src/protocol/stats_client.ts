/**
 * Asks a server for `STATS` over TCP.
 *
 * @module
 */

import { type LineClientOptions, requestOnce } from "./line_client.ts";
import { parseStats, type Stats } from "./stats.ts";

/**
 * Connects, sends `STATS`, and returns the parsed reply.
 *
 * @throws {ProtocolError} If the reply is not valid `STATS` JSON (for example an `ERR`).
 * @throws {Deno.errors.ConnectionRefused} If no server listens there.
 */
export async function fetchStats(
  options: LineClientOptions,
): Promise<Pick<Stats, "total" | "clients"> & Partial<Stats>> {
  return parseStats(await requestOnce(options, "STATS"));
}
