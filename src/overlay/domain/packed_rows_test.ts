import assert from "node:assert/strict";
import fc from "fast-check";
import { packRows, transferablesOf, unpackRows } from "./packed_rows.ts";

Deno.test("packed rows come back as they were, in order, through a structured clone", () => {
  const row = fc.record({
    key: fc.string(),
    node: fc.constantFrom("A", "B", "C", "D", "E"),
    likes: fc.nat(),
  });
  fc.assert(fc.property(fc.array(row), (records) => {
    const rows = records.map(({ key, node, likes }) => ({ key, node, likes }));
    const packed = packRows(rows);
    const copy = structuredClone(packed, { transfer: transferablesOf(packed) });
    assert.deepEqual(unpackRows(copy), rows);
  }));
});
