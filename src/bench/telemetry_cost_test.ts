import assert from "node:assert/strict";
import { benchCases } from "./cases.ts";
import { caseResult } from "./fixtures.ts";
import { formatTelemetryCost } from "./telemetry_cost.ts";

function result(id: string, mps: number, p99: number) {
  return caseResult(id, mps, { p99 });
}

Deno.test("benchCases() runs each durable load with telemetry on right after its twin without", () => {
  for (const quick of [false, true]) {
    const list = benchCases({ quick, redis: false, reference: false });
    const on = list.filter((c) => c.server.kind === "likes" && c.server.otel);
    assert.ok(on.length >= 1);
    for (const c of on) {
      const before = list[list.indexOf(c) - 1]!;
      assert.equal(before.id, c.id.replace("-otel/", "/"));
    }
  }
});

Deno.test("formatTelemetryCost() sets each case with telemetry on beside its twin without", () => {
  const text = formatTelemetryCost([
    result("persistent-10/likes-always/deno", 20_000, 1.1),
    result("persistent-10/likes-always-otel/deno", 19_000, 1.2),
    result("persistent-100/likes-always-otel/deno", 50_000, 2), // its twin did not run
  ], 12);
  assert.equal(
    text,
    "telemetry on (OTEL_DENO=true, metrics every 1 s to a receiver on loopback; 12 exports) vs off, same load, this run:\n" +
      "  persistent, 10 clients: 0.95× (19,000 vs 20,000 msg/s), p99 1.20 ms vs 1.10 ms\n",
  );
});
