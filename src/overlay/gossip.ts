/**
 * Gossip: a node sends its whole replica to each overlay neighbour (both directions of every
 * edge) every interval, and sooner when it changed, and merges what neighbours send. Because the
 * replica is a grow-only counter merged by maximum, lost, repeated or reordered messages do no
 * harm; the next one repairs them. Each node also stamps when it last read its own counts
 * (`as_of`), merged by maximum too, so a replica can say how stale each node's part is.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { PeerLink } from "./frame_conn.ts";
import { Replica, type ReplicaEntry } from "./replica.ts";

/** A gossip message as it travels. */
export interface GossipMessage {
  readonly type: "gossip";
  readonly from: string;
  readonly entries: readonly ReplicaEntry[];
  /** Node → when (ms since the epoch) that node last read its own counts. */
  readonly "as_of": Readonly<Record<string, number>>;
}

/** Options for {@linkcode Gossip}. */
export interface GossipOptions {
  /** This node's id. */
  readonly self: string;
  /** Links to the neighbours, by id. */
  readonly peers: ReadonlyMap<string, PeerLink>;
  /** Time between full exchanges, in ms. */
  readonly intervalMs: number;
  /** Delay that gathers several changes into one push, in ms. @default {10} */
  readonly settleMs?: number;
}

/** What the gossip has done so far. */
export interface GossipStats {
  readonly sent: number;
  readonly received: number;
  readonly merged: number;
  readonly unreachable: number;
}

/** One node's replica and its exchanges. */
export class Gossip implements Disposable {
  /** The replica this node keeps. */
  readonly replica = new Replica();
  readonly #options: GossipOptions;
  readonly #asOf = new Map<string, number>();
  readonly #busy = new Set<string>();
  readonly #again = new Set<string>();
  readonly #log = getLogger(["likes", "overlay", "gossip"]);
  #timer: ReturnType<typeof setInterval> | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #sent = 0;
  #received = 0;
  #merged = 0;
  #unreachable = 0;

  /** Creates the gossip; {@linkcode start} begins the exchanges. */
  constructor(options: GossipOptions) {
    this.#options = options;
  }

  /** Begins the periodic exchanges. */
  start(): void {
    this.#timer = setInterval(() => this.#pushAll(), this.#options.intervalMs);
  }

  /** Records this node's own counts (read from its table at `now`). */
  observeOwn(clients: Readonly<Record<string, number>>, now = Date.now()): void {
    let rose = false;
    for (const [key, likes] of Object.entries(clients)) {
      if (this.replica.observe(this.#options.self, key, likes)) rose = true;
    }
    this.#asOf.set(this.#options.self, Math.max(now, this.#asOf.get(this.#options.self) ?? 0));
    if (rose) this.changed();
  }

  /**
   * Merges a message from a neighbour; returns how many entries rose.
   *
   * @throws {RangeError} On a malformed message (nothing after the bad entry is merged).
   */
  receive(message: unknown): number {
    if (typeof message !== "object" || message === null) {
      throw new RangeError("Cannot merge gossip: not an object");
    }
    const { entries, as_of: asOf } = message as Partial<GossipMessage>;
    if (!Array.isArray(entries) || typeof asOf !== "object" || asOf === null) {
      throw new RangeError("Cannot merge gossip: it needs entries [...] and as_of {...}");
    }
    this.#received++;
    const rose = this.replica.merge(entries);
    for (const [node, at] of Object.entries(asOf)) {
      if (typeof at === "number" && at > (this.#asOf.get(node) ?? 0)) this.#asOf.set(node, at);
    }
    this.#merged += rose;
    if (rose > 0) this.changed();
    return rose;
  }

  /** How old each node's part of the replica is at `now`, in ms (by that node's own clock). */
  staleness(now = Date.now()): Record<string, number> {
    const ages: Record<string, number> = {};
    for (const [node, at] of [...this.#asOf].sort(([a], [b]) => a < b ? -1 : 1)) {
      ages[node] = Math.max(0, now - at);
    }
    return ages;
  }

  /** Asks for a push to every neighbour soon (changes arriving together go in one push). */
  changed(): void {
    if (this.#stopped || this.#soon !== undefined) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#pushAll();
    }, this.#options.settleMs ?? 10);
  }

  /** Counters for `STATS`. */
  stats(): GossipStats {
    return {
      sent: this.#sent,
      received: this.#received,
      merged: this.#merged,
      unreachable: this.#unreachable,
    };
  }

  #message(): GossipMessage {
    return {
      type: "gossip",
      from: this.#options.self,
      entries: this.replica.entries(),
      as_of: Object.fromEntries(this.#asOf),
    };
  }

  #pushAll(): void {
    if (this.#stopped) return;
    for (const id of this.#options.peers.keys()) this.#push(id);
  }

  /** One push at a time per neighbour; a change meanwhile sends once more after it. */
  async #push(id: string): Promise<void> {
    if (this.#busy.has(id)) {
      this.#again.add(id);
      return;
    }
    this.#busy.add(id);
    try {
      do {
        this.#again.delete(id);
        const link = this.#options.peers.get(id)!;
        if (await link.notify({ ...this.#message() }, this.#options.intervalMs)) {
          this.#sent++;
        } else {
          this.#unreachable++;
          this.#log.debug(`gossip to ${id} (${link.address}) failed; retrying next interval`);
          this.#again.delete(id);
        }
      } while (this.#again.has(id) && !this.#stopped);
    } finally {
      this.#busy.delete(id);
    }
  }

  /** Stops exchanging. */
  [Symbol.dispose](): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
  }
}
