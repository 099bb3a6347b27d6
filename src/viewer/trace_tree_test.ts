import assert from "node:assert/strict";
import type { SpanRecord } from "../telemetry/otlp_receiver.ts";
import { formatTrace } from "./trace_tree.ts";

function span(
  spanId: string,
  parentSpanId: string,
  node: string,
  startMs: number,
  extra: Partial<SpanRecord> = {},
): SpanRecord {
  return {
    service: `likes-node-${node}`,
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId,
    parentSpanId,
    name: "query get_all",
    attributes: { node, verb: "get_all", rows: 1, cached: false },
    statusCode: 0,
    startUnixNano: BigInt(startMs * 1000) * 1000n,
    endUnixNano: BigInt((startMs + 1.5) * 1000) * 1000n,
    ...extra,
  };
}

Deno.test("formatTrace() draws the diamond A → B → C/D → E with each span under its parent", () => {
  const spans = [
    span("e2", "d", "E", 5, {
      attributes: { node: "E", verb: "get_all", rows: 0, cached: false, duplicate: true },
    }),
    span("e1", "c", "E", 4),
    span("d", "b", "D", 3),
    span("c", "b", "C", 2),
    span("b", "a", "B", 1),
    span("a", "client", "A", 0, { statusCode: 2 }), // the client's span was not exported
  ];
  assert.equal(
    formatTrace(spans),
    [
      "trace 4bf92f3577b34da6a3ce929d0e0e4736",
      "query get_all at A  likes-node-A  1.50 ms  ERROR  verb=get_all rows=1 cached=false",
      "└─ query get_all at B  likes-node-B  1.50 ms  verb=get_all rows=1 cached=false",
      "   ├─ query get_all at C  likes-node-C  1.50 ms  verb=get_all rows=1 cached=false",
      "   │  └─ query get_all at E  likes-node-E  1.50 ms  verb=get_all rows=1 cached=false",
      "   └─ query get_all at D  likes-node-D  1.50 ms  verb=get_all rows=1 cached=false",
      "      └─ query get_all at E  likes-node-E  1.50 ms  verb=get_all rows=0 cached=false duplicate=true",
      "",
    ].join("\n"),
  );
});
