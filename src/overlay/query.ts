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

/**
 * Rows gathered so far, by owning node. A node's section is taken from the first path that
 * brings it; a later copy (the diamond B→C→E, B→D→E) is dropped, so each row appears once.
 */
export class Sections {
  readonly #byNode = new Map<string, Row[]>();

  /** Adds `node`'s rows unless that node is already present; true if added. */
  add(node: string, rows: readonly Row[]): boolean {
    if (this.#byNode.has(node)) return false;
    this.#byNode.set(node, rows.filter((row) => row.node === node));
    return true;
  }

  /** Adds every section of `other` (as sent between nodes: node → rows). */
  addAll(other: Readonly<Record<string, readonly Row[]>>): void {
    for (const [node, rows] of Object.entries(other)) this.add(node, rows);
  }

  /** The nodes present, sorted. */
  nodes(): string[] {
    return [...this.#byNode.keys()].sort();
  }

  /** Sections as sent between nodes. */
  toJSON(): Record<string, Row[]> {
    return Object.fromEntries([...this.#byNode].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every row, ordered by key, then node. */
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
