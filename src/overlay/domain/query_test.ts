import assert from "node:assert/strict";
import {
  parseQuery,
  QueryError,
  queryKey,
  ROWS_PER_FRAME,
  Sections,
  selectRows,
  totalRows,
} from "./query.ts";

Deno.test("parseQuery() takes the four verbs and explains every refusal", () => {
  assert.deepEqual(parseQuery("get_all"), { verb: "get_all", params: [] });
  assert.deepEqual(parseQuery("get_by_key", ["a", "b"]).params, ["a", "b"]);
  const refusals: [unknown, unknown, RegExp][] = [
    ["nope", [], /unknown verb "nope": a node answers get_all, get_by_key, get_by_prefix, total/],
    [undefined, [], /unknown verb undefined/],
    ["get_all", ["x"], /get_all takes no parameters/],
    ["total", ["x"], /total takes no parameters/],
    ["get_by_key", [], /get_by_key needs at least one key/],
    ["get_by_prefix", [], /get_by_prefix needs exactly one prefix, got 0/],
    ["get_by_prefix", ["a", "b"], /get_by_prefix needs exactly one prefix, got 2/],
    ["get_by_key", [1], /parameters must be a list of strings/],
    ["get_by_key", "a", /parameters must be a list of strings/],
  ];
  for (const [verb, params, message] of refusals) {
    assert.throws(
      () => parseQuery(verb, params),
      (e) => e instanceof QueryError && message.test(e.message),
    );
  }
});

Deno.test("selectRows() picks by key or prefix; total keeps every row", () => {
  const rows = [
    { key: "alpha", node: "B", likes: 1 },
    { key: "alpine", node: "C", likes: 2 },
    { key: "beta", node: "B", likes: 4 },
  ];
  assert.deepEqual(selectRows(rows, parseQuery("get_by_key", ["beta", "gamma"])), [rows[2]]);
  assert.deepEqual(selectRows(rows, parseQuery("get_by_prefix", ["alp"])), [rows[0], rows[1]]);
  assert.deepEqual(selectRows(rows, parseQuery("total")), rows);
  assert.deepEqual(totalRows(rows), [
    { key: "total", node: "B", likes: 5 },
    { key: "total", node: "C", likes: 2 },
  ]);
});

Deno.test("Sections keep the first path's copy of a node's rows: the diamond adds nothing twice", () => {
  const sections = new Sections();
  assert.ok(sections.add("E", [{ key: "k", node: "E", likes: 3 }], "C"));
  sections.addAll({
    C: [{ key: "k", node: "C", likes: 1 }],
    E: [{ key: "k", node: "E", likes: 3 }], // the same E, through the other path
  }, "D");
  assert.equal(sections.add("E", [{ key: "k", node: "E", likes: 99 }], "D"), false);
  assert.ok(sections.add("E", [{ key: "j", node: "E", likes: 2 }], "C"), "C sends E in parts");
  assert.deepEqual(sections.rows(), [
    { key: "j", node: "E", likes: 2 },
    { key: "k", node: "C", likes: 1 },
    { key: "k", node: "E", likes: 3 },
  ]);
  assert.deepEqual(sections.nodes(), ["C", "E"]);
  assert.deepEqual([sections.count, sections.likes], [3, 6]);
  // A section cannot smuggle rows of another owner.
  const strict = new Sections();
  strict.add("C", [{ key: "k", node: "D", likes: 5 }]);
  assert.deepEqual(strict.rows(), []);
});

Deno.test("Sections past holdRows stream every row, held and later, in frames of ROWS_PER_FRAME", () => {
  const spilled: [string, number][] = [];
  const sections = new Sections({
    holdRows: 3,
    spill: (node, rows) => {
      spilled.push([node, rows.length]);
    },
  });
  const rows = (node: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ key: `k${i}`, node, likes: 1 }));
  sections.add("B", rows("B", 2));
  assert.equal(sections.streamed, false);
  sections.add("C", rows("C", 2)); // 4 > 3: streamed from now on
  assert.equal(sections.streamed, true);
  sections.add("D", rows("D", ROWS_PER_FRAME + 1));
  assert.deepEqual(spilled, [["B", 2], ["C", 2], ["D", ROWS_PER_FRAME], ["D", 1]]);
  assert.deepEqual(sections.rows(), [], "nothing held once streamed");
  assert.equal(sections.count, ROWS_PER_FRAME + 5);
});

Deno.test("queryKey() tells verbs, parameters and consistency apart", () => {
  const keys = new Set([
    queryKey(parseQuery("get_all"), "gather"),
    queryKey(parseQuery("get_all"), "local"),
    queryKey(parseQuery("get_by_key", ["a", "b"]), "gather"),
    queryKey(parseQuery("get_by_key", ["a,b"]), "gather"),
  ]);
  assert.equal(keys.size, 4);
});

Deno.test("Sections.abandon lets a failed path's held sections go, but not rows already spilled", () => {
  const held = new Sections();
  held.add("E", [{ key: "e", node: "E", likes: 4 }], "C");
  assert.equal(held.add("E", [{ key: "e", node: "E", likes: 4 }], "D"), false, "C's first");
  assert.deepEqual(held.abandon("C"), { released: ["E"], cut: [] });
  assert.equal(held.count, 0);
  assert.equal(held.likes, 0);
  assert.equal(held.add("E", [{ key: "e", node: "E", likes: 4 }], "D"), true, "now D's");
  assert.equal(held.sourceOf("E"), "D");

  const spilled: string[] = [];
  const streamed = new Sections({ holdRows: 1, spill: (node) => void spilled.push(node) });
  streamed.add("E", [{ key: "a", node: "E", likes: 1 }, { key: "b", node: "E", likes: 1 }], "C");
  assert.deepEqual(spilled, ["E"]);
  assert.deepEqual(streamed.abandon("C"), { released: [], cut: ["E"] });
  assert.equal(streamed.sourceOf("E"), "C", "spilled rows stay C's: another copy is refused");
});
