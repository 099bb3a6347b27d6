/**
 * Timing trees: each node records its stages (cache lookup, local scan, each neighbour call) in
 * milliseconds, and a neighbour's own tree nests under the stage that called it, so a reply shows
 * where the time went as the query travelled. Pure: building and printing.
 *
 * @module
 */

/** One stage of a node's work. */
export interface Stage {
  /** What was done: `cache lookup`, `local scan`, `call C`, `replica read`. */
  readonly name: string;
  /** How long it took, in ms. */
  readonly ms: number;
  /** A word on the outcome, e.g. `hit`, `miss`, `timed out`, `already answered`. */
  readonly note?: string;
  /** The called node's own tree, for a neighbour call that answered. */
  readonly tree?: TimingTree;
}

/** One node's part of a query. */
export interface TimingTree {
  readonly node: string;
  /** From the query's arrival to the reply leaving, in ms. */
  readonly totalMs: number;
  readonly stages: readonly Stage[];
}

/** Rounds to hundredths of a millisecond (what a reply carries). */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Checks a tree received from the network; returns null when it is not one. */
export function checkTree(value: unknown, depth = 0): TimingTree | null {
  if (depth > 32 || typeof value !== "object" || value === null) return null;
  const { node, totalMs, stages } = value as Record<string, unknown>;
  if (typeof node !== "string" || typeof totalMs !== "number" || !Array.isArray(stages)) {
    return null;
  }
  const checked: Stage[] = [];
  for (const stage of stages) {
    if (typeof stage !== "object" || stage === null) return null;
    const { name, ms, note, tree } = stage as Record<string, unknown>;
    if (typeof name !== "string" || typeof ms !== "number") return null;
    const nested = tree === undefined ? undefined : checkTree(tree, depth + 1);
    if (nested === null) return null;
    checked.push({
      name,
      ms,
      ...(typeof note === "string" ? { note } : {}),
      ...(nested ? { tree: nested } : {}),
    });
  }
  return { node, totalMs, stages: checked };
}

/**
 * Prints a tree with box-drawing branches, one stage per line.
 *
 * @example
 * ```ts
 * import { formatTree } from "./timing.ts";
 * import assert from "node:assert/strict";
 * const text = formatTree({ node: "A", totalMs: 2, stages: [
 *   { name: "cache lookup", ms: 0.01, note: "miss" },
 *   { name: "call B", ms: 1.5, tree: { node: "B", totalMs: 1, stages: [{ name: "local scan", ms: 0.2 }] } },
 * ] });
 * assert.equal(text, [
 *   "A  2.00 ms",
 *   "├─ cache lookup  0.01 ms  miss",
 *   "└─ call B  1.50 ms",
 *   "   └─ B  1.00 ms",
 *   "      └─ local scan  0.20 ms",
 * ].join("\n"));
 * ```
 */
export function formatTree(tree: TimingTree): string {
  const lines: string[] = [`${tree.node}  ${tree.totalMs.toFixed(2)} ms`];
  const walk = (node: TimingTree, indent: string) => {
    node.stages.forEach((stage, i) => {
      const last = i === node.stages.length - 1;
      lines.push(
        `${indent}${last ? "└─" : "├─"} ${stage.name}  ${stage.ms.toFixed(2)} ms${
          stage.note ? `  ${stage.note}` : ""
        }`,
      );
      if (stage.tree) {
        const inner = `${indent}${last ? "   " : "│  "}`;
        lines.push(`${inner}└─ ${stage.tree.node}  ${stage.tree.totalMs.toFixed(2)} ms`);
        walk(stage.tree, `${inner}   `);
      }
    });
  };
  walk(tree, "");
  return lines.join("\n");
}
