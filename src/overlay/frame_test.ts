import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrame, FrameError, FrameReader } from "./frame.ts";

Deno.test("FrameReader reads frames split anywhere and back to back", () => {
  const stream = new Uint8Array([
    ...encodeFrame({ verb: "get_by_key", params: ["a", "b"] }),
    ...encodeFrame("é ✓"),
    ...encodeFrame(42),
  ]);
  const reader = new FrameReader();
  const values = [];
  for (const byte of stream) values.push(...reader.push(new Uint8Array([byte])));
  assert.deepEqual(values, [{ verb: "get_by_key", params: ["a", "b"] }, "é ✓", 42]);
  assert.equal(reader.hasPartial, false);
});

Deno.test("FrameReader refuses a frame over the limit from its header, before buffering it", () => {
  const reader = new FrameReader(100);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 4_000_000_000);
  assert.throws(
    () => reader.push(header),
    (e) => e instanceof FrameError && /4000000000 bytes/.test(e.message),
  );
  assert.throws(() => encodeFrame("x".repeat(200), 100), FrameError);
});

Deno.test("FrameReader refuses a frame that does not hold JSON", () => {
  const body = new TextEncoder().encode("{nope");
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  assert.throws(() => new FrameReader().push(frame), FrameError);
  const binary = new Uint8Array([0, 0, 0, 2, 0xff, 0xfe]);
  assert.throws(() => new FrameReader().push(binary), FrameError, "not UTF-8");
});

Deno.test("property: any chunking of any frames yields the same values", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { maxLength: 10 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 10 }),
      (values, cuts) => {
        const frames = values.map((v) => encodeFrame(v));
        const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const frame of frames) {
          stream.set(frame, at);
          at += frame.length;
        }
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new FrameReader();
        const seen: unknown[] = [];
        let from = 0;
        for (const point of [...points, stream.length]) {
          seen.push(...reader.push(stream.subarray(from, point)));
          from = point;
        }
        assert.deepEqual(seen, values.map((v) => JSON.parse(JSON.stringify(v))));
      },
    ),
    { numRuns: 300 },
  );
});
