/**
 * Gossip: a node sends its whole replica to each overlay neighbour (both directions of every
 * edge) every interval, and sooner when it changed, in frames of at most
 * {@linkcode MAX_GOSSIP_ENTRIES} entries, and merges what neighbours send. Because the replica is
 * a grow-only counter merged by maximum, lost, repeated or reordered messages do no harm; the
 * next one repairs them. Each node also stamps when it last read its own counts (`as_of`), merged
 * by maximum too, so a replica can say how stale each node's part is.
 *
 * What a neighbour sends is checked whole before anything is merged ({@linkcode checkGossip}):
 * it must come from a neighbour, name only owners the config gives likes, hold at most
 * {@linkcode MAX_GOSSIP_ENTRIES} well-formed entries, and stamp no node later than now plus
 * {@linkcode MAX_CLOCK_SKEW_MS}; otherwise the whole message is refused
 * ({@linkcode GossipRefusal}). A node never takes from others a count for itself above its own:
 * such entries are dropped (and counted), the rest is merged.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { PeerLink } from "./frame_conn.ts";
import { checkEntry, Replica, type ReplicaEntry } from "./replica.ts";

/** Entries in one gossip message at most: a larger replica is sent in several. */
export const MAX_GOSSIP_ENTRIES = 10_000;
/** How far ahead of this node's clock a node's `as_of` may be, in ms. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** Which rule a refused gossip message broke (one log line per peer and rule). */
export type GossipRule = "shape" | "from" | "size" | "entry" | "owner" | "future";

/** A gossip message broke a rule: nothing of it was merged. */
export class GossipRefusal extends RangeError {
  /** Creates the refusal. */
  constructor(readonly rule: GossipRule, message: string) {
    super(message);
    this.name = "GossipRefusal";
  }
}

/** What a node checks gossip against. */
export interface GossipRules {
  /** This node's id. */
  readonly self: string;
  /** Its neighbours: the only nodes it takes gossip from. */
  readonly neighbours: ReadonlySet<string>;
  /** The nodes of the config that hold likes: the only owners an entry may name. */
  readonly owners: ReadonlySet<string>;
  /** Every node of the config (an `as_of` may stamp any of them). */
  readonly nodes: ReadonlySet<string>;
}

/** A gossip message that passed {@linkcode checkGossip}. */
export interface CheckedGossip {
  readonly from: string;
  readonly entries: readonly ReplicaEntry[];
  readonly asOf: ReadonlyMap<string, number>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks a gossip message whole, before anything of it is merged.
 *
 * @throws {GossipRefusal} Naming the rule it broke.
 *
 * @example
 * ```ts
 * import { checkGossip } from "./gossip.ts";
 * import assert from "node:assert/strict";
 * const rules = {
 *   self: "A",
 *   neighbours: new Set(["B"]),
 *   owners: new Set(["B", "C"]),
 *   nodes: new Set(["A", "B", "C"]),
 * };
 * const forged = { from: "Z", entries: [], as_of: {} };
 * assert.throws(() => checkGossip(forged, rules, 0), /from "Z": not a neighbour of A/);
 * ```
 */
export function checkGossip(message: unknown, rules: GossipRules, now: number): CheckedGossip {
  if (!isRecord(message)) throw new GossipRefusal("shape", "not an object");
  const { from, entries, as_of: asOf } = message;
  if (!Array.isArray(entries) || !isRecord(asOf)) {
    throw new GossipRefusal("shape", "it needs entries [...] and as_of {...}");
  }
  if (typeof from !== "string" || !rules.neighbours.has(from)) {
    throw new GossipRefusal(
      "from",
      `from ${JSON.stringify(from)}: not a neighbour of ${rules.self} (its neighbours are ${
        [...rules.neighbours].join(", ") || "none"
      })`,
    );
  }
  if (entries.length > MAX_GOSSIP_ENTRIES) {
    throw new GossipRefusal(
      "size",
      `${entries.length} entries in one message: the limit is ${MAX_GOSSIP_ENTRIES}`,
    );
  }
  for (const entry of entries) {
    try {
      checkEntry(entry);
    } catch (error) {
      throw new GossipRefusal("entry", (error as Error).message);
    }
    if (!rules.owners.has(entry.node)) {
      throw new GossipRefusal(
        "owner",
        `an entry names owner ${entry.node}, which holds no likes in the config`,
      );
    }
  }
  const stamps = new Map<string, number>();
  for (const [node, at] of Object.entries(asOf)) {
    if (!rules.nodes.has(node) || typeof at !== "number" || !Number.isFinite(at)) {
      throw new GossipRefusal(
        "shape",
        `as_of ${JSON.stringify(node)}: ${
          JSON.stringify(at)
        } is not a time of a node in the config`,
      );
    }
    if (at > now + MAX_CLOCK_SKEW_MS) {
      throw new GossipRefusal(
        "future",
        `as_of ${node} is ${Math.round(at - now)} ms ahead of this node's clock (at most ${
          MAX_CLOCK_SKEW_MS / 1000
        } s of skew is taken)`,
      );
    }
    stamps.set(node, at);
  }
  return { from, entries: entries as ReplicaEntry[], asOf: stamps };
}

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
  /** The nodes of the config that hold likes (entries may name only these). @default {any} */
  readonly owners?: ReadonlySet<string>;
  /** Every node of the config. @default {the owners, this node and its neighbours} */
  readonly nodes?: ReadonlySet<string>;
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
  /** Messages refused whole for breaking a rule. */
  readonly refused: number;
  /** Entries about this node above its own count, dropped. */
  readonly overclaims: number;
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
  #refused = 0;
  #overclaims = 0;
  readonly #rules: GossipRules;

  /** Creates the gossip; {@linkcode start} begins the exchanges. */
  constructor(options: GossipOptions) {
    this.#options = options;
    const neighbours = new Set(options.peers.keys());
    const owners = options.owners ?? new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    this.#rules = {
      self: options.self,
      neighbours,
      owners,
      nodes: options.nodes ?? new Set([...owners, options.self, ...neighbours]),
    };
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
   * Checks and merges a message from a neighbour; returns how many entries rose.
   *
   * @throws {GossipRefusal} If it breaks a rule ({@linkcode checkGossip}): nothing is merged.
   */
  receive(message: unknown, now = Date.now()): number {
    let checked: CheckedGossip;
    try {
      checked = checkGossip(message, this.#rules, now);
    } catch (error) {
      this.#refused++;
      throw error;
    }
    this.#received++;
    const self = this.#options.self;
    const entries = checked.entries.filter((entry) => {
      if (entry.node !== self || entry.likes <= this.replica.get(self, entry.key)) return true;
      this.#overclaims++; // only this node's own counter says what it counted
      return false;
    });
    const rose = this.replica.merge(entries);
    for (const [node, at] of checked.asOf) {
      if (node !== self && at > (this.#asOf.get(node) ?? 0)) this.#asOf.set(node, at);
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
      refused: this.#refused,
      overclaims: this.#overclaims,
    };
  }

  /** The whole replica as messages of at most {@linkcode MAX_GOSSIP_ENTRIES} entries (one at least). */
  #messages(): GossipMessage[] {
    const entries = this.replica.entries();
    const asOf = Object.fromEntries(this.#asOf);
    const messages: GossipMessage[] = [];
    for (let at = 0; at === 0 || at < entries.length; at += MAX_GOSSIP_ENTRIES) {
      messages.push({
        type: "gossip",
        from: this.#options.self,
        entries: entries.slice(at, at + MAX_GOSSIP_ENTRIES),
        as_of: asOf,
      });
    }
    return messages;
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
        let delivered = true;
        for (const message of this.#messages()) {
          if (!await link.notify({ ...message }, this.#options.intervalMs)) {
            delivered = false;
            break;
          }
        }
        if (delivered) {
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
