/**
 * A node's heartbeats: a link of their own to every neighbour carries a `ping` the neighbour
 * answers with `pong`; what {@linkcode PeerHealth} decides from the answers and the silences is
 * published in the node's shared {@linkcode PeerTable}, so its query Workers skip a neighbour that
 * is down. A neighbour marked down has its connections dropped (they may be half-open: a peer gone
 * without a reset), and is probed on new connections until it answers.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { PeerLink } from "../wire/frame_conn.ts";
import {
  DEFAULT_TICK_MS,
  describeDown,
  type PeerHealth,
  type PeerStatus,
} from "../domain/peer_health.ts";
import type { PeerTable } from "../domain/peer_table.ts";

/** Options for {@linkcode PeerMonitor}. */
export interface PeerMonitorOptions {
  /** The heartbeat links, by neighbour id (the monitor closes them when disposed). */
  readonly links: ReadonlyMap<string, PeerLink>;
  readonly health: PeerHealth;
  /** Where the statuses are published for the node's other threads. */
  readonly table: PeerTable;
  /** How often the health is looked at, in ms (the `tickMs` `health` was made with). @default {50} */
  readonly tickMs?: number;
  /** Called when a neighbour is marked down (the node drops its other connections to it). */
  readonly onDown?: (id: string, reason: string) => void;
  /** Called when a neighbour comes back up (gossip catches it up). */
  readonly onUp?: (id: string) => void;
  /** The clock, in ms since the epoch. @default {Date.now} */
  readonly now?: () => number;
}

/** Sends the heartbeats and publishes what they tell. */
export class PeerMonitor implements Disposable {
  readonly #options: PeerMonitorOptions;
  readonly #log = getLogger(["likes", "overlay", "node"]);
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Publishes every neighbour as up; {@linkcode start} begins the heartbeats. */
  constructor(options: PeerMonitorOptions) {
    this.#options = options;
    for (const [id, status] of options.health.statuses()) options.table.write(id, status);
  }

  /** Heartbeats from now on. */
  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#options.tickMs ?? DEFAULT_TICK_MS);
  }

  /** Every neighbour's status. */
  statuses(): Map<string, PeerStatus> {
    return this.#options.health.statuses();
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #tick(): void {
    const { health, links, table } = this.#options;
    const now = this.#now();
    const { ask, down } = health.tick(now);
    for (const id of down) {
      const status = health.status(id);
      table.write(id, status);
      this.#log.warn(`neighbour ${id} (${links.get(id)!.address}) is ${describeDown(status, now)}`);
      const reason = `marked down: silent for more than ${health.downAfterMs} ms`;
      links.get(id)!.drop(reason);
      this.#options.onDown?.(id, reason);
    }
    for (const id of ask) this.#ping(id);
  }

  async #ping(id: string): Promise<void> {
    const { health, links, table } = this.#options;
    const downs = health.status(id).downs;
    let ok = false;
    try {
      await links.get(id)!.request({ type: "ping" }, health.pingTimeoutMs);
      ok = true;
    } catch {
      // No answer in time, or no connection: the silence decides. The next try goes on a new
      // connection, which may reach a thread of the neighbour that is not busy.
      links.get(id)!.drop("no answer to a heartbeat");
    }
    if (this.#timer === undefined) return; // stopped meanwhile
    const now = this.#now();
    if (!ok) {
      // The outcome of a heartbeat sent before the peer was marked down belongs to that past.
      if (health.status(id).downs === downs) health.failed(id, now);
      return;
    }
    const back = health.answered(id, now);
    table.write(id, health.status(id));
    if (back) {
      this.#log.info(`neighbour ${id} (${links.get(id)!.address}) is up again`);
      this.#options.onUp?.(id);
    }
  }

  /** Stops the heartbeats and closes their links. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const link of this.#options.links.values()) link.close();
  }
}
