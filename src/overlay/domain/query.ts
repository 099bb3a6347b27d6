/**
 * Overlay queries, pure: what a query is (`get_all`, `get_by_key K…`, `get_by_prefix P`,
 * `total`), how one is checked as it arrives, which rows of a node's data answer it, and how the
 * per-node sections gathered along the overlay are merged so that each node's rows appear once
 * however many paths reached it. No I/O here.
 *
 * @module
 */

import type { ReplicaEntry } from "./replica.ts";

/** The verbs a node answers. */
export const VERBS = ["get_all", "get_by_key", "get_by_prefix", "total"] as const;
/** One of {@linkcode VERBS}. */
export type Verb = typeof VERBS[number];

/** How a query is answered: by asking the owners, or from the node's own replica at once. */
export const CONSISTENCIES = ["gather", "local"] as const;
/** One of {@linkcode CONSISTENCIES}. */
export type Consistency = typeof CONSISTENCIES[number];

/** A checked query. */
export interface Query {
  readonly verb: Verb;
  readonly params: readonly string[];
}

/** One row of an answer: `node` counted `likes` for `key`. */
export type Row = ReplicaEntry;

/** The query is not one a node answers; the message says why, in one line. */
export class QueryError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "QueryError";
  }
}

const MAX_PARAMS = 1000;

/**
 * Checks a verb and its parameters.
 *
 * @throws {QueryError} On an unknown verb, a missing parameter, or parameters the verb does
 *   not take.
 *
 * @example
 * ```ts
 * import { parseQuery } from "./query.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseQuery("get_by_prefix", ["Likes"]), { verb: "get_by_prefix", params: ["Likes"] });
 * assert.throws(() => parseQuery("get_by_key", []), /needs at least one key/);
 * ```
 */
export function parseQuery(verb: unknown, params: unknown = []): Query {
  if (typeof verb !== "string" || !(VERBS as readonly string[]).includes(verb)) {
    throw new QueryError(
      `unknown verb ${JSON.stringify(verb)}: a node answers ${VERBS.join(", ")}`,
    );
  }
  if (!Array.isArray(params) || !params.every((p) => typeof p === "string")) {
    throw new QueryError(`${verb}: parameters must be a list of strings`);
  }
  if (params.length > MAX_PARAMS) {
    throw new QueryError(`${verb}: at most ${MAX_PARAMS} parameters, got ${params.length}`);
  }
  const checked = verb as Verb;
  switch (checked) {
    case "get_all":
    case "total":
      if (params.length > 0) throw new QueryError(`${verb} takes no parameters`);
      break;
    case "get_by_key":
      if (params.length === 0) throw new QueryError("get_by_key needs at least one key");
      break;
    case "get_by_prefix":
      if (params.length !== 1) {
        throw new QueryError(`get_by_prefix needs exactly one prefix, got ${params.length}`);
      }
      break;
  }
  return Object.freeze({ verb: checked, params: Object.freeze([...params]) });
}

/** The rows of `rows` that answer `query` (`total` keeps every row: its caller sums them). */
export function selectRows(rows: Iterable<Row>, query: Query): Row[] {
  const keys = query.verb === "get_by_key" ? new Set(query.params) : null;
  const prefix = query.verb === "get_by_prefix" ? query.params[0]! : null;
  const chosen: Row[] = [];
  for (const row of rows) {
    if (keys !== null && !keys.has(row.key)) continue;
    if (prefix !== null && !row.key.startsWith(prefix)) continue;
    chosen.push(row);
  }
  return chosen;
}

/** A cache key for a query: its verb and parameters (and how it is answered). */
export function queryKey(query: Query, consistency: Consistency): string {
  return JSON.stringify([consistency, query.verb, query.params]);
}

/** Rows a streamed answer carries per `rows` frame. */
export const ROWS_PER_FRAME = 5000;

/** Options for {@linkcode Sections}: when an answer becomes streamed, and where its rows go. */
export interface SectionsOptions {
  /** Rows held before the answer is streamed; past it, every row goes to `spill`. */
  readonly holdRows?: number;
  /**
   * Takes streamed rows, at most {@linkcode ROWS_PER_FRAME} of one node at a time; a promise it
   * returns tells when they are gone (see {@linkcode Sections.drained}).
   */
  readonly spill?: (node: string, rows: readonly Row[]) => void | Promise<unknown>;
}

/**
 * Rows gathered so far, by owning node. A node's section is taken from the first source (path)
 * that brings it, in as many parts as that source sends; a copy from another source (the
 * diamond B→C→E, B→D→E) is refused, so each row appears once. A source that fails can be
 * {@linkcode Sections.abandon}ed: the sections it brought are let go, for another source to
 * bring, unless rows of theirs were already spilled. Past `holdRows` rows the answer is
 * **streamed**: everything held, and every row after, goes to `spill` as it comes, so memory per
 * hop stays bounded however large the answer.
 */
export class Sections {
  readonly #byNode = new Map<string, Row[]>();
  readonly #source = new Map<string, string>();
  /** Nodes some of whose rows were spilled: they cannot be taken back. */
  readonly #spilled = new Set<string>();
  readonly #holdRows: number;
  readonly #spill: SectionsOptions["spill"];
  #held = 0;
  #count = 0;
  #likes = 0;
  #streamed = false;
  #drained: Promise<void> = Promise.resolve();

  /** Creates an empty set of sections (held whole unless `options` say how to stream). */
  constructor(options: SectionsOptions = {}) {
    this.#holdRows = options.spill ? options.holdRows ?? ROWS_PER_FRAME : Infinity;
    this.#spill = options.spill;
  }

  /**
   * Adds rows of `node` from `source` (by default the node itself) unless another source
   * brought that node first; true if added.
   */
  add(node: string, rows: readonly Row[], source = node): boolean {
    const claimed = this.#source.get(node);
    if (claimed !== undefined && claimed !== source) return false;
    this.#source.set(node, source);
    const own = rows.filter((row) => row.node === node);
    this.#count += own.length;
    for (const row of own) this.#likes += row.likes;
    if (this.#streamed) {
      this.#spillRows(node, own);
      return true;
    }
    const held = this.#byNode.get(node);
    if (held) held.push(...own);
    else this.#byNode.set(node, [...own]);
    this.#held += own.length;
    if (this.#held > this.#holdRows) {
      this.#streamed = true;
      for (const [name, section] of this.#byNode) this.#spillRows(name, section);
      this.#byNode.clear();
      this.#held = 0;
    }
    return true;
  }

  /**
   * Lets go of every section `source` brought (its path failed): the rows held are dropped, so
   * another source may bring those nodes. Says which nodes were let go (`released`) and which
   * could not be, because rows of theirs were already spilled (`cut`: those stay `source`'s).
   */
  abandon(source: string): { released: string[]; cut: string[] } {
    const released: string[] = [], cut: string[] = [];
    for (const [node, from] of this.#source) {
      if (from !== source) continue;
      if (this.#spilled.has(node)) {
        cut.push(node);
        continue;
      }
      for (const row of this.#byNode.get(node) ?? []) {
        this.#count--;
        this.#likes -= row.likes;
        this.#held--;
      }
      this.#byNode.delete(node);
      this.#source.delete(node);
      released.push(node);
    }
    return { released, cut };
  }

  /** The source that brought `node`'s section, if any did. */
  sourceOf(node: string): string | undefined {
    return this.#source.get(node);
  }

  #spillRows(node: string, rows: readonly Row[]): void {
    if (rows.length > 0) this.#spilled.add(node);
    for (let at = 0; at < rows.length; at += ROWS_PER_FRAME) {
      const gone = this.#spill!(node, rows.slice(at, at + ROWS_PER_FRAME));
      if (gone) this.#drained = gone.then(() => {}, () => {});
    }
  }

  /**
   * Settles when the rows spilled so far are gone (the last spill's promise settled: spills
   * are taken in order); never rejects. Wait for it before adding more to bound what waits.
   */
  drained(): Promise<void> {
    return this.#drained;
  }

  /**
   * Adds every section of `other` (as sent between nodes: node → rows), all from `source`;
   * returns the nodes refused (brought first by another source).
   */
  addAll(other: Readonly<Record<string, readonly Row[]>>, source?: string): string[] {
    const refused: string[] = [];
    for (const [node, rows] of Object.entries(other)) {
      if (!this.add(node, rows, source ?? node)) refused.push(node);
    }
    return refused;
  }

  /** True once the rows are streamed (then only rows added since the last spill are held). */
  get streamed(): boolean {
    return this.#streamed;
  }

  /** Rows added in all, streamed ones included. */
  get count(): number {
    return this.#count;
  }

  /** Likes of every row added, streamed ones included. */
  get likes(): number {
    return this.#likes;
  }

  /** The nodes present, sorted. */
  nodes(): string[] {
    return [...this.#source.keys()].sort();
  }

  /** The sections held, as sent between nodes. */
  toJSON(): Record<string, Row[]> {
    return Object.fromEntries([...this.#byNode].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every row held, ordered by key, then node. */
  rows(): Row[] {
    return [...this.#byNode.values()].flat().sort((a, b) =>
      a.key < b.key ? -1 : a.key > b.key ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0
    );
  }
}

/** Sums rows per node into one `total` row each (key `"total"`), ordered by node. */
export function totalRows(rows: readonly Row[]): Row[] {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(row.node, (sums.get(row.node) ?? 0) + row.likes);
  return [...sums].sort(([a], [b]) => a < b ? -1 : 1).map(([node, likes]) => ({
    key: "total",
    node,
    likes,
  }));
}
