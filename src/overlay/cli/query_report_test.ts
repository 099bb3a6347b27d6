import assert from "node:assert/strict";
import type { QueryReply } from "../client/query_client.ts";
import {
  columnWidths,
  formatJsonRows,
  formatJsonTail,
  formatSummary,
  formatTableHead,
  formatTableRows,
  STREAMED_JSON_HEAD,
} from "./query_report.ts";

const REPLY: QueryReply = {
  "query_id": "q1",
  success: true,
  partial: false,
  message: "Combined results from 5 nodes (3 rows)",
  results: [],
  streamed: 3,
  total: 9,
  answered: ["A", "B", "C", "D", "E"],
  missing: [],
  problems: {},
  cached: false,
  timing: null,
  "client_ms": 4.25,
  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
};

const PARTS = [
  [{ key: "LikesServer0", node: "B", likes: 2 }, { key: 'a "quoted" key', node: "B", likes: 3 }],
  [{ key: "LikesServer9", node: "E", likes: 4 }],
];

Deno.test("--json of a streamed answer, written as the rows come, is one document with every row", () => {
  const text = STREAMED_JSON_HEAD + formatJsonRows(PARTS[0]!, true) +
    formatJsonRows(PARTS[1]!, false) + formatJsonTail(REPLY, true);
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed, { ...REPLY, results: PARTS.flat() });
});

Deno.test("--json's end also carries rows the reply itself holds, with or without streamed ones", () => {
  const reply = { ...REPLY, results: PARTS[1]! };
  const after = STREAMED_JSON_HEAD + formatJsonRows(PARTS[0]!, true) + formatJsonTail(reply, true);
  assert.deepEqual(JSON.parse(after).results, PARTS.flat());
  const alone = STREAMED_JSON_HEAD + formatJsonTail(reply, false);
  assert.deepEqual(JSON.parse(alone), reply);
  assert.deepEqual(JSON.parse(STREAMED_JSON_HEAD + formatJsonTail(REPLY, false)), REPLY);
});

Deno.test("a streamed table: the head and rows in the first part's widths, then the summary counts every row", () => {
  const widths = columnWidths(PARTS[0]!);
  const text = formatTableHead(widths) + formatTableRows(PARTS[0]!, widths) +
    formatTableRows(PARTS[1]!, widths) + formatSummary(REPLY, { timing: false });
  assert.equal(
    text,
    [
      "key             node  likes",
      "LikesServer0    B         2",
      'a "quoted" key  B         3',
      "LikesServer9    E         4",
      "3 rows, 9 likes · answered A B C D E · missing none · not cached · 4.25 ms",
      "trace 4bf92f3577b34da6a3ce929d0e0e4736",
      "",
    ].join("\n"),
  );
});
