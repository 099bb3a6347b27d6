/**
 * Gossip, delta-state (Scuttlebutt-style): every interval a node sends each overlay neighbour
 * (both directions of every edge) a **digest** — per owner, the epoch and version it holds — and
 * a neighbour that holds more of an owner answers with a **delta**: only what changed after the
 * version the digest named (`replica.ts`). When the node's replica changes (its own counts, or a
 * delta from a neighbour), it sends each neighbour what that neighbour lacks, as far as it knows
 * from the neighbour's last digest and what it sent since: one like on one key sends a few hundred
 * bytes, not the replica. Lost, repeated or reordered messages do no harm: a delta that would
 * leave a gap is not taken, and the next digest repairs anything missed. To tell a digest written
 * before the neighbour read this node's latest deltas from one written after, each delta is
 * numbered (`n`, within the sender's incarnation `inc`) and each digest acknowledges the last one
 * read (`ack`): deltas after it are counted as on their way, unless their connection has since
 * been replaced (then they may be lost, and are sent again).
 *
 * What a neighbour sends is checked whole before anything is taken ({@linkcode checkGossip}):
 * it must come from a neighbour, name only owners that hold likes in the config, hold at most
 * {@linkcode MAX_GOSSIP_ENTRIES} well-formed keys, and stamp no time later than now plus
 * {@linkcode MAX_CLOCK_SKEW_MS}; otherwise it is refused whole ({@linkcode GossipRefusal}). A node
 * never takes from others anything about itself: only it says what it counted. If a neighbour
 * holds a later epoch of this node (a forger's), the node starts a later epoch of its own, which
 * replaces the forgery everywhere.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { type OwnerDelta, type OwnerDigest, Replica } from "./replica.ts";

/** Keys (and forgotten keys) in one delta at most: more travel in several. */
export const MAX_GOSSIP_ENTRIES = 10_000;
/** How far ahead of this node's clock an epoch or an `as_of` may be, in ms. */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** Deltas remembered per neighbour as on their way, at most. */
const MAX_PENDING = 10_000;
/** Forgotten keys an owner remembers (beyond its live keys) before it starts a new epoch. */
export const MAX_FORGOTTEN_KEYS = 10_000;

/** Which delta of a sender's incarnation a digest's writer read last. */
export interface DeltaAck {
  /** The sender's incarnation (when it started, in ms). */
  readonly inc: number;
  readonly n: number;
}

/** A digest as it travels: what the sender holds of each owner, and the last delta it read. */
export interface DigestMessage {
  readonly type: "digest";
  readonly from: string;
  readonly owners: Readonly<Record<string, OwnerDigest>>;
  readonly ack?: DeltaAck;
}

/** A delta as it travels, numbered within its sender's incarnation. */
export interface DeltaMessage extends OwnerDelta, DeltaAck {
  readonly type: "delta";
  readonly from: string;
}

/** Which rule a refused message broke (one log line per peer and rule). */
export type GossipRule = "shape" | "from" | "size" | "entry" | "owner" | "future";

/** A gossip message broke a rule: nothing of it was taken. */
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
  /** The nodes of the config that hold likes: the only owners gossip may be about. */
  readonly owners: ReadonlySet<string>;
}

/** A gossip message that passed {@linkcode checkGossip}. */
export type CheckedGossip =
  | {
    readonly kind: "digest";
    readonly from: string;
    readonly owners: Map<string, OwnerDigest>;
    readonly ack: DeltaAck | null;
  }
  | {
    readonly kind: "delta";
    readonly from: string;
    readonly delta: OwnerDelta;
    readonly number: DeltaAck;
  };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A time no later than `now` plus the skew allowed, or a refusal naming `what`. */
function checkTime(what: string, value: unknown, now: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new GossipRefusal("shape", `${what}: ${JSON.stringify(value)} is not a time`);
  }
  if (value > now + MAX_CLOCK_SKEW_MS) {
    throw new GossipRefusal(
      "future",
      `${what} is ${Math.round(value - now)} ms ahead of this node's clock (at most ${
        MAX_CLOCK_SKEW_MS / 1000
      } s of skew is taken)`,
    );
  }
  return value;
}

function checkOwner(owner: unknown, rules: GossipRules): string {
  if (typeof owner !== "string" || !rules.owners.has(owner)) {
    throw new GossipRefusal(
      "owner",
      `it names owner ${JSON.stringify(owner)}, which holds no likes in the config`,
    );
  }
  return owner;
}

function checkKey(key: unknown): string {
  if (typeof key !== "string" || key.length === 0 || key.length > 64) {
    throw new GossipRefusal(
      "entry",
      `a key must be 1 to 64 characters: current value is ${JSON.stringify(key)}`,
    );
  }
  return key;
}

function checkStamp(v: unknown, base: number, upto: number): void {
  if (!Number.isSafeInteger(v) || (v as number) <= base || (v as number) > upto) {
    throw new GossipRefusal(
      "entry",
      `a version must be above base ${base} and at most upto ${upto}: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
}

function checkDelta(message: Record<string, unknown>, rules: GossipRules, now: number): OwnerDelta {
  const owner = checkOwner(message.owner, rules);
  const { epoch, base, upto, entries, removed, retired } = message;
  if (!isCount(epoch) || epoch === 0 || !isCount(base) || !isCount(upto) || base > upto) {
    throw new GossipRefusal(
      "shape",
      "a delta needs a whole epoch above 0 and versions with 0 <= base <= upto",
    );
  }
  checkTime("its epoch", epoch, now);
  const asOf = checkTime("its as_of", message.as_of, now);
  if (!Array.isArray(entries) || !Array.isArray(removed)) {
    throw new GossipRefusal("shape", "a delta needs entries [...] and removed [...]");
  }
  if (entries.length + removed.length > MAX_GOSSIP_ENTRIES) {
    throw new GossipRefusal(
      "size",
      `${entries.length + removed.length} keys in one delta: the limit is ${MAX_GOSSIP_ENTRIES}`,
    );
  }
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 3) {
      throw new GossipRefusal("entry", "an entry must be [key, likes, version]");
    }
    checkKey(entry[0]);
    if (!isCount(entry[1])) {
      throw new GossipRefusal(
        "entry",
        `likes must be a whole number from 0 to 2^53 - 1: current value is ${
          JSON.stringify(entry[1])
        }`,
      );
    }
    checkStamp(entry[2], base, upto);
  }
  for (const gone of removed) {
    if (!Array.isArray(gone) || gone.length !== 2) {
      throw new GossipRefusal("entry", "a removed key must be [key, version]");
    }
    checkKey(gone[0]);
    checkStamp(gone[1], base, upto);
  }
  if (retired !== undefined) {
    if (!Array.isArray(retired) || retired.length !== 2 || !isCount(retired[0])) {
      throw new GossipRefusal("entry", "retired must be [likes, version]");
    }
    checkStamp(retired[1], base, upto);
  }
  return {
    owner,
    epoch,
    base,
    upto,
    "as_of": asOf,
    entries: entries as [string, number, number][],
    removed: removed as [string, number][],
    ...(retired === undefined ? {} : { retired: retired as [number, number] }),
  };
}

/**
 * Checks a digest or a delta whole, before anything of it is taken.
 *
 * @throws {GossipRefusal} Naming the rule it broke.
 *
 * @example
 * ```ts
 * import { checkGossip } from "./gossip.ts";
 * import assert from "node:assert/strict";
 * const rules = { self: "A", neighbours: new Set(["B"]), owners: new Set(["B", "C"]) };
 * const forged = { type: "digest", from: "Z", owners: {} };
 * assert.throws(() => checkGossip(forged, rules, 0), /from "Z": not a neighbour of A/);
 * ```
 */
export function checkGossip(message: unknown, rules: GossipRules, now: number): CheckedGossip {
  if (!isRecord(message)) throw new GossipRefusal("shape", "not an object");
  const { type, from } = message;
  if (type !== "digest" && type !== "delta") {
    throw new GossipRefusal("shape", `gossip is a digest or a delta, not ${JSON.stringify(type)}`);
  }
  if (typeof from !== "string" || !rules.neighbours.has(from)) {
    throw new GossipRefusal(
      "from",
      `from ${JSON.stringify(from)}: not a neighbour of ${rules.self} (its neighbours are ${
        [...rules.neighbours].join(", ") || "none"
      })`,
    );
  }
  if (type === "delta") {
    const number = checkAck(message, now);
    if (number === null) throw new GossipRefusal("shape", "a delta needs its inc and n");
    return { kind: "delta", from, delta: checkDelta(message, rules, now), number };
  }
  if (!isRecord(message.owners)) throw new GossipRefusal("shape", "a digest needs owners {...}");
  const owners = new Map<string, OwnerDigest>();
  for (const [owner, held] of Object.entries(message.owners)) {
    checkOwner(owner, rules);
    if (!isRecord(held) || !isCount(held.epoch) || !isCount(held.version)) {
      throw new GossipRefusal("shape", `owner ${owner}: a digest names a whole epoch and version`);
    }
    checkTime(`owner ${owner}'s epoch`, held.epoch, now);
    const asOf = checkTime(`owner ${owner}'s as_of`, held.as_of, now);
    owners.set(owner, { epoch: held.epoch, version: held.version, "as_of": asOf });
  }
  const ack = message.ack === undefined ? null : checkAck(message.ack, now);
  if (message.ack !== undefined && ack === null) {
    throw new GossipRefusal("shape", "a digest's ack is {inc, n}");
  }
  return { kind: "digest", from, owners, ack };
}

/** `{inc, n}` as a delta's number or a digest's ack, or null when malformed. */
function checkAck(value: unknown, now: number): DeltaAck | null {
  if (!isRecord(value) || !isCount(value.inc) || !isCount(value.n)) return null;
  checkTime("its inc", value.inc, now);
  return { inc: value.inc, n: value.n };
}

/**
 * What gossip needs of its link to one neighbour: a node's `PeerLink` (wire/frame_conn.ts), or
 * an in-memory link in the tests.
 */
export interface GossipLink {
  /** Where the neighbour is, for log lines. */
  readonly address: string;
  /**
   * How many connections the link has opened: when it changes between two sends, what was sent
   * on the old one may not have arrived.
   */
  readonly generation: number;
  /** Bytes sent so far. */
  readonly bytesSent: number;
  /** Sends one message, without a reply; false if it could not be sent within `timeoutMs`. */
  notify(message: Record<string, unknown>, timeoutMs: number): Promise<boolean>;
}

/** Options for {@linkcode Gossip}. */
export interface GossipOptions {
  /** This node's id. */
  readonly self: string;
  /** Links to the neighbours, by id. */
  readonly peers: ReadonlyMap<string, GossipLink>;
  /** Time between digests to each neighbour, in ms. */
  readonly intervalMs: number;
  /** Delay that gathers several changes into one push, in ms. @default {10} */
  readonly settleMs?: number;
  /** The nodes of the config that hold likes. @default {every letter} */
  readonly owners?: ReadonlySet<string>;
  /** This node's epoch (when it started, in ms). @default {Date.now()} */
  readonly epoch?: number;
  /**
   * Whether a neighbour answers (its heartbeats): nothing is sent to one that does not, until
   * {@linkcode Gossip.peerUp} says it is back. @default {every neighbour is up}
   */
  readonly isUp?: (id: string) => boolean;
}

/** What the gossip has done so far. */
export interface GossipStats {
  /** Messages sent (digests and deltas) and received (that passed the checks). */
  readonly sent: number;
  readonly received: number;
  /** Bytes of gossip sent on the links (frames whole) and received (frame bodies). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Deltas that changed the replica. */
  readonly merged: number;
  readonly unreachable: number;
  /** Messages refused whole for breaking a rule. */
  readonly refused: number;
  /** Deltas about this node from others, not taken. */
  readonly overclaims: number;
  /** This node's epoch. */
  readonly epoch: number;
}

/** One node's replica and its exchanges. */
export class Gossip implements Disposable {
  /** The replica this node keeps. */
  readonly replica = new Replica();
  readonly #options: GossipOptions;
  readonly #rules: GossipRules;
  /** Neighbour → owner → what that neighbour holds, as far as this node knows. */
  readonly #held = new Map<string, Map<string, Pick<OwnerDigest, "epoch" | "version">>>();
  readonly #busy = new Set<string>();
  readonly #again = new Set<string>();
  /** Neighbours that are told this node's digest soon (they hold more of some owner). */
  readonly #digestSoon = new Set<string>();
  /** When this node's gossip started: deltas are numbered within it. */
  readonly #incarnation: number;
  /** Neighbour → the number of the last delta sent to it. */
  readonly #sentN = new Map<string, number>();
  /** Neighbour → deltas sent that its last digest did not acknowledge yet. */
  readonly #pending = new Map<
    string,
    { n: number; generation: number; owner: string; epoch: number; upto: number }[]
  >();
  /** Neighbour → the last of its deltas this node read. */
  readonly #read = new Map<string, DeltaAck>();
  readonly #log = getLogger(["likes", "overlay", "gossip"]);
  #epoch: number;
  /** This node's own counts as last read: clients, the sum of their likes, the retired likes. */
  #own: { clients: Record<string, number>; live: number; retired: number } | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #soon: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #sent = 0;
  #received = 0;
  #bytesReceived = 0;
  #merged = 0;
  #unreachable = 0;
  #refused = 0;
  #overclaims = 0;

  /** Creates the gossip; {@linkcode start} begins the exchanges. */
  constructor(options: GossipOptions) {
    this.#options = options;
    this.#epoch = options.epoch ?? Date.now();
    this.#incarnation = this.#epoch;
    this.#rules = {
      self: options.self,
      neighbours: new Set(options.peers.keys()),
      owners: options.owners ?? new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    };
  }

  /** Sends the first digests, then one every interval. */
  start(): void {
    this.#digestAll();
    this.#timer = setInterval(() => this.#digestAll(), this.#options.intervalMs);
  }

  /**
   * Records this node's own counts (read from its table at `now`): its clients and the likes of
   * the clients it forgot. Too many forgotten keys start a new epoch, which travels whole.
   */
  observeOwn(clients: Readonly<Record<string, number>>, retired: number, now = Date.now()): void {
    let live = 0;
    for (const likes of Object.values(clients)) live += likes;
    this.#own = { clients: { ...clients }, live, retired };
    if (this.replica.forgottenOf(this.#options.self) > MAX_FORGOTTEN_KEYS) this.#newEpoch(now);
    if (this.replica.setOwn(this.#options.self, this.#epoch, clients, retired, now)) {
      this.changed();
    }
  }

  /**
   * Records what changed in this node's own counts since the last look (read at `now`): the
   * clients whose count changed, and the table's total read after them (the likes of no client
   * left are the retired row). No client is forgotten here; when one was, pass the whole table
   * to {@linkcode Gossip.observeOwn}. Costs what changed, however many clients there are.
   */
  observeOwnChanges(
    changes: Readonly<Record<string, number>>,
    total: number,
    now = Date.now(),
  ): void {
    const own = this.#own;
    if (own === null || this.replica.epochOf(this.#options.self) !== this.#epoch) {
      const clients = { ...own?.clients, ...changes };
      let live = 0;
      for (const likes of Object.values(clients)) live += likes;
      return this.observeOwn(clients, total - live, now);
    }
    for (const [key, likes] of Object.entries(changes)) {
      own.live += likes - (own.clients[key] ?? 0);
      own.clients[key] = likes;
    }
    const retired = total - own.live;
    own.retired = retired;
    if (this.replica.updateOwn(this.#options.self, this.#epoch, changes, retired, now)) {
      this.changed();
    }
  }

  /** Stamps that this node looked at its counts at `now` and found them unchanged. */
  touchOwn(now = Date.now()): void {
    this.replica.touch(this.#options.self, now);
  }

  #newEpoch(now: number, above = this.#epoch): void {
    this.#epoch = Math.max(now, above + 1);
    if (this.#own) {
      this.replica.setOwn(
        this.#options.self,
        this.#epoch,
        this.#own.clients,
        this.#own.retired,
        now,
      );
    }
    this.changed();
  }

  /**
   * Checks and takes a message from a neighbour (`bytes`: its frame's size); returns whether
   * the replica changed.
   *
   * @throws {GossipRefusal} If it breaks a rule ({@linkcode checkGossip}): nothing is taken.
   */
  receive(message: unknown, now = Date.now(), bytes = 0): boolean {
    let checked: CheckedGossip;
    try {
      checked = checkGossip(message, this.#rules, now);
    } catch (error) {
      this.#refused++;
      throw error;
    }
    this.#received++;
    this.#bytesReceived += bytes;
    const self = this.#options.self;
    if (checked.kind === "digest") {
      this.#heard(checked.from, checked.owners, checked.ack);
      const mine = this.replica.digest();
      const forged = checked.owners.get(self);
      if (forged && forged.epoch > this.#epoch) {
        this.#log.warn(
          `${checked.from} holds epoch ${forged.epoch} of ${self}, later than its own ${this.#epoch}: ${self} starts a later epoch, which replaces it`,
        );
        this.#newEpoch(now, forged.epoch);
      }
      for (const [owner, theirs] of checked.owners) {
        const held = mine[owner];
        if (owner === self) continue;
        if (!held || theirs.epoch > held.epoch || theirs.version > held.version) {
          this.#digestSoon.add(checked.from); // it holds more: tell it what this node holds
        }
      }
      this.#push(checked.from);
      return false;
    }
    const { delta } = checked;
    this.#read.set(checked.from, checked.number);
    if (delta.owner === self) {
      this.#overclaims++; // only this node says what it counted
      return false;
    }
    const outcome = this.replica.apply(delta);
    if (outcome === "gap") this.#digestSoon.add(checked.from);
    if (outcome !== "applied") {
      if (this.#digestSoon.size > 0) this.#push(checked.from);
      return false;
    }
    this.#merged++;
    this.changed();
    return true;
  }

  /** How old each owner's part of the replica is at `now`, in ms (by that owner's own clock). */
  staleness(now = Date.now()): Record<string, number> {
    return this.replica.staleness(now);
  }

  /**
   * A neighbour that was down answers again: it is sent this node's digest now (its answer, a
   * digest, brings what it lacks; the deltas sent on its old connection are sent again).
   */
  peerUp(id: string): void {
    if (this.#stopped || !this.#options.peers.has(id)) return;
    this.#digestSoon.add(id);
    this.#push(id);
  }

  /** Asks for a push to every neighbour soon (changes arriving together go in one push). */
  changed(): void {
    if (this.#stopped || this.#soon !== undefined) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      for (const id of this.#options.peers.keys()) this.#push(id);
    }, this.#options.settleMs ?? 10);
  }

  /** Counters for `stats`. */
  stats(): GossipStats {
    let bytesSent = 0;
    for (const link of this.#options.peers.values()) bytesSent += link.bytesSent;
    return {
      sent: this.#sent,
      received: this.#received,
      bytesSent,
      bytesReceived: this.#bytesReceived,
      merged: this.#merged,
      unreachable: this.#unreachable,
      refused: this.#refused,
      overclaims: this.#overclaims,
      epoch: this.#epoch,
    };
  }

  /**
   * What a neighbour holds, from its digest: what it says, raised by the deltas sent to it that
   * it had not read yet when it wrote the digest — unless they went on a connection that has
   * been replaced since (they may be lost: they are sent again).
   */
  #heard(id: string, owners: Map<string, OwnerDigest>, ack: DeltaAck | null): void {
    const read = ack?.inc === this.#incarnation ? ack.n : 0;
    const generation = this.#options.peers.get(id)!.generation;
    const pending = (this.#pending.get(id) ?? []).filter((sent) =>
      sent.n > read && sent.generation === generation
    );
    this.#pending.set(id, pending);
    const held = new Map<string, Pick<OwnerDigest, "epoch" | "version">>(owners);
    for (const sent of pending) {
      const known = held.get(sent.owner);
      if (
        !known || sent.epoch > known.epoch ||
        (sent.epoch === known.epoch && sent.upto > known.version)
      ) {
        held.set(sent.owner, { epoch: sent.epoch, version: sent.upto });
      }
    }
    this.#held.set(id, held);
  }

  #digest(to: string): DigestMessage {
    const ack = this.#read.get(to);
    return {
      type: "digest",
      from: this.#options.self,
      owners: this.replica.digest(),
      ...(ack ? { ack } : {}),
    };
  }

  #digestAll(): void {
    if (this.#stopped) return;
    for (const id of this.#options.peers.keys()) {
      this.#digestSoon.add(id);
      this.#push(id);
    }
  }

  /**
   * Sends `id` the digest if it is due, then every delta it lacks, as far as this node knows
   * (nothing before its first digest). One push at a time per neighbour; a change meanwhile
   * pushes once more after it.
   */
  async #push(id: string): Promise<void> {
    if (this.#options.isUp?.(id) === false) return; // down: nothing queues for it
    if (this.#busy.has(id)) {
      this.#again.add(id);
      return;
    }
    this.#busy.add(id);
    const link = this.#options.peers.get(id)!;
    const send = async (message: Record<string, unknown>): Promise<boolean> => {
      if (await link.notify(message, this.#options.intervalMs)) {
        this.#sent++;
        return true;
      }
      this.#unreachable++;
      this.#log.debug(`gossip to ${id} (${link.address}) failed; trying again next interval`);
      this.#again.delete(id);
      return false;
    };
    try {
      do {
        this.#again.delete(id);
        if (this.#digestSoon.delete(id) && !await send({ ...this.#digest(id) })) break;
        const held = this.#held.get(id);
        if (!held) continue; // its digest says what it lacks
        let failed = false;
        for (const owner of Object.keys(this.replica.digest())) {
          if (owner === id) continue; // it is the one that says what it counted
          for (const delta of this.replica.deltas(owner, held.get(owner), MAX_GOSSIP_ENTRIES)) {
            const n = (this.#sentN.get(id) ?? 0) + 1;
            this.#sentN.set(id, n);
            const message = { type: "delta", from: this.#options.self, inc: this.#incarnation, n };
            if (!await send({ ...message, ...delta })) {
              failed = true;
              break;
            }
            held.set(owner, { epoch: delta.epoch, version: delta.upto });
            const pending = this.#pending.get(id) ?? [];
            const { epoch, upto } = delta;
            pending.push({ n, generation: link.generation, owner, epoch, upto });
            if (pending.length > MAX_PENDING) pending.shift(); // forgotten: sent again if lost
            this.#pending.set(id, pending);
          }
          if (failed) break;
        }
        if (failed) break;
      } while (this.#again.has(id) && !this.#stopped && this.#options.isUp?.(id) !== false);
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
