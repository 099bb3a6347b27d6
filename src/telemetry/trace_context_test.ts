import assert from "node:assert/strict";
import { formatTraceparent, parseTraceparent, randomSpanContext } from "./trace_context.ts";

Deno.test("parseTraceparent() reads what formatTraceparent() wrote, and refuses what is not a traceparent", () => {
  for (let i = 0; i < 20; i++) {
    const context = randomSpanContext();
    const parsed = parseTraceparent(formatTraceparent(context));
    assert.deepEqual(parsed, { ...context, isRemote: true });
  }
  for (
    const bad of [
      undefined,
      "",
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // unknown version
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
    ]
  ) assert.equal(parseTraceparent(bad), null, JSON.stringify(bad));
});

Deno.test("formatTraceparent() gives nothing for the all-zero context of a span that records nothing", () => {
  assert.equal(
    formatTraceparent({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 }),
    undefined,
  );
  assert.match(formatTraceparent(randomSpanContext())!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});
