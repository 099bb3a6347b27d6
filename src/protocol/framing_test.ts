import assert from "node:assert/strict";
import fc from "fast-check";
import { type Frame, FrameDecoder, type Terminator } from "./framing.ts";

interface Seen {
  readonly text: string;
  readonly terminator: Terminator;
  readonly overlong: boolean;
  readonly length: number;
}

const encoder = new TextEncoder();

function collect(into: Seen[]): (frame: Frame) => void {
  return (f) =>
    into.push({
      text: new TextDecoder().decode(f.bytes),
      terminator: f.terminator,
      overlong: f.overlong,
      length: f.length,
    });
}

function decodeAll(chunks: (string | Uint8Array)[], maxLineBytes = 512): Seen[] {
  const seen: Seen[] = [];
  const decoder = new FrameDecoder({ maxLineBytes });
  for (const chunk of chunks) {
    decoder.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk, collect(seen));
  }
  decoder.flush(collect(seen));
  return seen;
}

function texts(seen: Seen[]): [string, Terminator][] {
  return seen.map((s) => [s.text, s.terminator]);
}

Deno.test("FrameDecoder splits each classic framing", async (t) => {
  const cases: [string, (string | Uint8Array)[], [string, Terminator][]][] = [
    ["LF", ["LikesServer1 2\n"], [["LikesServer1 2", "\n"]]],
    ["CRLF", ["LikesServer1 2\r\n"], [["LikesServer1 2", "\r\n"]]],
    ["no terminator", ["LikesServer1 2"], [["LikesServer1 2", ""]]],
    ["NUL then padding", [
      new Uint8Array([...encoder.encode("LikesServer1 2"), 0, 0, 0, 0, 0, 0]),
    ], [["LikesServer1 2", "\0"]]],
    ["NUL padding then another padded message", [
      new Uint8Array([
        ...encoder.encode("LikesServer1 2"),
        0,
        0,
        0,
        ...encoder.encode("LikesServer2 3"),
        0,
        0,
      ]),
    ], [["LikesServer1 2", "\0"], ["LikesServer2 3", "\0"]]],
    ["back to back, no delimiter", ["LikesServer1 2LikesServer3 4LikesServer5 42"], [
      ["LikesServer1 2", ""],
      ["LikesServer3 4", ""],
      ["LikesServer5 42", ""],
    ]],
    ["many on one connection", ["LikesServer1 2\nLikesServer3 4\r\nSTATS\n"], [
      ["LikesServer1 2", "\n"],
      ["LikesServer3 4", "\r\n"],
      ["STATS", "\n"],
    ]],
    ["split across chunks", ["Likes", "Server1 ", "2", "\r", "\n"], [["LikesServer1 2", "\r\n"]]],
    ["back to back across chunks", ["LikesServer1 2", "LikesServer3 4\n"], [
      ["LikesServer1 2", ""],
      ["LikesServer3 4", "\n"],
    ]],
    ["several spaces", ["LikesServer1     2\n"], [["LikesServer1     2", "\n"]]],
    ["empty lines are frames", ["\n\r\n"], [["", "\n"], ["", "\r\n"]]],
    ["an L right after a complete classic message starts a new frame", ["LikesServer1 2L\n"], [[
      "LikesServer1 2",
      "",
    ], ["L", "\n"]]],
    ["keyed lines are not split", ["LIKE c1 1 2\n"], [["LIKE c1 1 2", "\n"]]],
  ];
  for (const [name, chunks, expected] of cases) {
    await t.step(name, () => assert.deepEqual(texts(decodeAll(chunks)), expected));
  }
});

Deno.test("FrameDecoder caps an overlong line and keeps working after it", () => {
  const long = "x".repeat(10_000);
  const seen = decodeAll([long.slice(0, 3000), long.slice(3000), "\nLikesServer1 2\n"], 64);
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.overlong, true);
  assert.equal(seen[0]!.length, 10_000);
  assert.equal(seen[0]!.text, "x".repeat(64));
  assert.deepEqual(texts(seen.slice(1)), [["LikesServer1 2", "\n"]]);
});

Deno.test("FrameDecoder treats a line of exactly the cap as not overlong, with or without CR", () => {
  const exact = "y".repeat(64);
  for (const terminator of ["\n", "\r\n"] as const) {
    const [frame] = decodeAll([exact + terminator], 64);
    assert.deepEqual(frame, { text: exact, terminator, overlong: false, length: 64 });
  }
  const [over] = decodeAll([exact + "z\r\n"], 64);
  assert.equal(over!.overlong, true);
  assert.equal(over!.length, 65);
});

Deno.test("FrameDecoder.hasPartial tells whether a flush would emit", () => {
  const decoder = new FrameDecoder();
  assert.equal(decoder.hasPartial, false);
  decoder.push(encoder.encode("LikesServer1 2"), () => {});
  assert.equal(decoder.hasPartial, true);
  decoder.push(new Uint8Array([0, 0, 0]), () => {});
  assert.equal(decoder.hasPartial, false);
});

Deno.test("FrameDecoder rejects a tiny cap", () => {
  assert.throws(() => new FrameDecoder({ maxLineBytes: 3 }), RangeError);
});

Deno.test("property: any chunking of a stream yields the same frames", () => {
  const message = fc.oneof(
    fc.tuple(fc.nat({ max: 99 }), fc.nat({ max: 42 })).map(([n, l]) => `LikesServer${n} ${l}`),
    fc.constant("STATS"),
    fc.string({ maxLength: 20 }).filter((s) => !/[\n\0]/.test(s)),
  );
  const terminator = fc.constantFrom("\n", "\r\n");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(message, terminator), { maxLength: 20 }),
      fc.array(fc.nat({ max: 50 }), { maxLength: 10 }),
      (messages, cuts) => {
        const stream = encoder.encode(messages.map(([m, t]) => m + t).join(""));
        const whole = decodeAll([stream]);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let from = 0;
        for (const p of points) {
          chunks.push(stream.subarray(from, p));
          from = p;
        }
        chunks.push(stream.subarray(from));
        assert.deepEqual(decodeAll(chunks), whole);
      },
    ),
    { numRuns: 500 },
  );
});

/** Decodes `chunks` stopping after every frame, as a connection over its reply cap does. */
function decodeOneAtATime(chunks: Uint8Array[]): Seen[] {
  const seen: Seen[] = [];
  const decoder = new FrameDecoder();
  const record = collect(seen);
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length;) {
      const before = seen.length;
      const used = decoder.push(chunk.subarray(offset), (frame) => {
        record(frame);
        return false;
      });
      // A push that stops at a classic boundary emits the frame before it and consumes nothing.
      assert.ok(used > 0 || seen.length > before, "every push consumes bytes or emits a frame");
      offset += used;
    }
  }
  decoder.flush(record);
  return seen;
}

Deno.test("FrameDecoder.push() stops after a frame when emit returns false, and resumes where it stopped", () => {
  const decoder = new FrameDecoder();
  const chunk = encoder.encode("a\nb\0\0\0LikesServer1 2LikesServer3 4\nc");
  const seen: Seen[] = [];
  const used: number[] = [];
  for (let offset = 0; offset < chunk.length;) {
    const n = decoder.push(chunk.subarray(offset), (f) => {
      collect(seen)(f);
      return false;
    });
    used.push(n);
    offset += n;
  }
  decoder.flush(collect(seen));
  assert.deepEqual(texts(seen), [
    ["a", "\n"],
    ["b", "\0"],
    ["LikesServer1 2", ""],
    ["LikesServer3 4", "\n"],
    ["c", ""],
  ]);
  // "a\n" | "b\0" | "\0\0LikesServer1 2" (stops before the next "L") | "LikesServer3 4\n" | "c"
  assert.deepEqual(used, [2, 2, 16, 15, 1]);
});

Deno.test("property: stopping after every frame yields the same frames as decoding at once", () => {
  const message = fc.oneof(
    fc.tuple(fc.nat({ max: 99 }), fc.nat({ max: 42 })).map(([n, l]) => `LikesServer${n} ${l}`),
    fc.string({ maxLength: 12 }),
  );
  const terminator = fc.constantFrom("\n", "\r\n", "\0", "\0\0\0", "");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(message, terminator), { maxLength: 20 }),
      fc.nat({ max: 40 }),
      (messages, cut) => {
        const stream = encoder.encode(messages.map(([m, t]) => m + t).join(""));
        const at = cut % (stream.length + 1);
        const chunks = [stream.subarray(0, at), stream.subarray(at)];
        assert.deepEqual(decodeOneAtATime(chunks), decodeAll(chunks));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("FrameDecoder.partialMayBeKeyed: a partial that is or may become LIKE … waits for its newline", () => {
  const mayBeKeyed = (text: string) => {
    const decoder = new FrameDecoder();
    decoder.push(new TextEncoder().encode(text), () => {});
    return decoder.partialMayBeKeyed;
  };
  for (const text of ["L", "LI", "LIK", "LIKE", "LIKE ", "  LIKE c 1 1", "\tLIKE c", "LIKE\tc 1"]) {
    assert.equal(mayBeKeyed(text), true, JSON.stringify(text));
  }
  for (const text of ["Li", "LikesServer1 3", "LIKES c 1 1", "STATS", "  ", "x", "LIKE c 1 1\n"]) {
    assert.equal(mayBeKeyed(text), false, JSON.stringify(text));
  }
});

Deno.test("FrameDecoder.abandon() ends a partial as incomplete, a line; flush() marks a pause", () => {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  decoder.push(new TextEncoder().encode("LIKE c 1 1"), () => {});
  decoder.abandon((f) => void frames.push({ ...f, bytes: f.bytes.slice() }));
  decoder.push(new TextEncoder().encode("LikesServer1 3"), () => {});
  decoder.flush((f) => void frames.push({ ...f, bytes: f.bytes.slice() }), "pause");
  assert.deepEqual(
    frames.map((f) => [new TextDecoder().decode(f.bytes), f.terminator, f.ended]),
    [["LIKE c 1 1", "\n", "abandoned"], ["LikesServer1 3", "", "pause"]],
  );
  assert.equal(decoder.hasPartial, false);
});
