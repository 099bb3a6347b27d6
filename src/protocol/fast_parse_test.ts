import assert from "node:assert/strict";
import fc from "fast-check";
import { parseFast } from "./fast_parse.ts";
import { parseRequest, ProtocolError } from "./grammar.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function full(text: string, maxLikes = 42) {
  try {
    const request = parseRequest(text, { maxLikes });
    return request.kind === "stats" ? "stats" : request;
  } catch (error) {
    if (error instanceof ProtocolError) return null;
    throw error;
  }
}

Deno.test("parseFast() takes the common valid forms and leaves everything else to parseRequest()", async (t) => {
  const cases: [string, unknown][] = [
    ["LikesServer3 14", { kind: "classic", client: "LikesServer3", likes: 14 }],
    [" \tLikesServer007 \t 0042\r", { kind: "classic", client: "LikesServer7", likes: 42 }],
    ["LIKE a.b_c:d@e-f 9007199254740991 0", {
      kind: "keyed",
      client: "a.b_c:d@e-f",
      seq: 9007199254740991,
      likes: 0,
    }],
    ["LikesServer3 43", null],
    ["LikesServer3 -1", null],
    ["LikesServer 3", null],
    ["LikesServer1234567890 3", null],
    ["LikesServer3 14 1", null],
    ["LikesServer314", null],
    ["LIKE c 0 1", null],
    ["LIKE c 99999999999999999 1", null],
    ["LIKE c/d 1 1", null],
    [`LIKE ${"x".repeat(65)} 1 1`, null],
    ["LIKEc 1 1", null],
    ["STATS", null],
    ["", null],
  ];
  for (const [input, expected] of cases) {
    await t.step(
      JSON.stringify(input),
      () => assert.deepEqual(parseFast(bytes(input), 42), expected),
    );
  }
});

Deno.test("property: parseFast() never disagrees with parseRequest()", () => {
  const token = fc.oneof(
    fc.constantFrom(
      "LikesServer",
      "LIKE",
      "STATS",
      "Likes",
      " ",
      "\t",
      "\r",
      "-",
      "0",
      "42",
      "43",
      "7",
      "x",
      ".",
    ),
    fc.nat({ max: 99999 }).map(String),
    fc.stringMatching(/^[A-Za-z0-9._:@-]{1,70}$/),
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), fc.nat({ max: 100 }), (parts, maxLikes) => {
      const text = parts.join("");
      const fast = parseFast(bytes(text), maxLikes);
      if (fast !== null) assert.deepEqual(fast, full(text, maxLikes), text);
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(
      fc.nat({ max: 999 }),
      fc.nat({ max: 60 }),
      fc.constantFrom(" ", "  ", "\t"),
      (n, likes, gap) => {
        const text = `LikesServer${n}${gap}${likes}`;
        assert.deepEqual(
          parseFast(bytes(text), 42),
          full(text),
          "every valid classic message takes the fast path",
        );
      },
    ),
  );
});
