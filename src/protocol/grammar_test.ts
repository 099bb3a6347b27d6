import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeFrame,
  formatClassic,
  formatError,
  formatKeyed,
  formatKeyedAck,
  parseReply,
  parseRequest,
  ProtocolError,
} from "./grammar.ts";

Deno.test("parseRequest() accepts the classic, keyed and STATS forms", async (t) => {
  const cases: [string, unknown][] = [
    ["LikesServer3 14", { kind: "classic", client: "LikesServer3", likes: 14 }],
    ["LikesServer3    14", { kind: "classic", client: "LikesServer3", likes: 14 }],
    ["LikesServer3\t14", { kind: "classic", client: "LikesServer3", likes: 14 }],
    ["  LikesServer10 0  ", { kind: "classic", client: "LikesServer10", likes: 0 }],
    ["LikesServer3 42\r", { kind: "classic", client: "LikesServer3", likes: 42 }],
    ["LikesServer007 007", { kind: "classic", client: "LikesServer7", likes: 7 }],
    ["LIKE LikesServer3-r1 1 14", { kind: "keyed", client: "LikesServer3-r1", seq: 1, likes: 14 }],
    ["LIKE a.b_c:d@e-f 9007199254740991 0", {
      kind: "keyed",
      client: "a.b_c:d@e-f",
      seq: 9007199254740991,
      likes: 0,
    }],
    ["STATS", { kind: "stats", clients: [] }],
    ["stats", { kind: "stats", clients: [] }],
    ["STATS LikesServer1 edge-7", { kind: "stats", clients: ["LikesServer1", "edge-7"] }],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => assert.deepEqual(parseRequest(input), expected));
  }
});

Deno.test("parseRequest() rejects invalid input with a reason", async (t) => {
  const cases: [string, RegExp][] = [
    ["", /empty message/],
    ["   \t ", /empty message/],
    ["LikeServer3 5", /unknown message/],
    ["likesserver3 5", /unknown message/],
    ["LikesServer 5", /bad name/],
    ["LikesServerX 5", /bad name/],
    ["LikesServer1234567890 5", /bad name/],
    ["LikesServer3", /missing likes/],
    ["LikesServer3 5 6", /too many fields/],
    ["LikesServer3 -1", /negative likes/],
    ["LikesServer3 43", /above max 42/],
    ["LikesServer3 99999999999999999999", /above max 42/],
    ["LikesServer3 abc", /not a whole number/],
    ["LikesServer3 1.5", /not a whole number/],
    ["LikesServer3 +5", /not a whole number/],
    ["LikesServer3 1e1", /not a whole number/],
    ["LikesServer3 0x10", /not a whole number/],
    ["LIKE c1 5", /missing fields/],
    ["LIKE c1 1 2 3", /too many fields/],
    ["LIKE c1 0 5", /bad seq/],
    ["LIKE c1 x 5", /bad seq/],
    ["LIKE c1 99999999999999999 5", /bad seq/],
    ["LIKE c/1 1 5", /bad client id/],
    [`LIKE ${"c".repeat(65)} 1 5`, /bad client id/],
    ["LIKE c1 1 43", /above max/],
    ["STATS a/b", /bad client id "a\/b"/],
    ["HELLO", /unknown message/],
  ];
  for (const [input, reason] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(
        () => parseRequest(input),
        (e) => e instanceof ProtocolError && reason.test(e.message),
      );
    });
  }
});

Deno.test("parseRequest() honours maxLikes", () => {
  assert.deepEqual(parseRequest("LikesServer1 100", { maxLikes: 100 }), {
    kind: "classic",
    client: "LikesServer1",
    likes: 100,
  });
  assert.throws(() => parseRequest("LikesServer1 11", { maxLikes: 10 }), /above max 10/);
});

Deno.test("decodeFrame() rejects binary and non-ASCII bytes", () => {
  assert.equal(decodeFrame(new TextEncoder().encode("LikesServer1 2\t")), "LikesServer1 2\t");
  assert.throws(() => decodeFrame(new Uint8Array([0x01, 0x02, 0xff])), /binary data: byte 0x01/);
  assert.throws(
    () => decodeFrame(new TextEncoder().encode("LikesServer1 ５")),
    /byte 0xef at offset 13/,
  );
});

Deno.test("formatError() keeps the reply on one line", () => {
  assert.equal(formatError("bad\nthing\r\0x"), "ERR bad thing x");
});

Deno.test("parseReply() reads bare, keyed and error replies", () => {
  assert.deepEqual(parseReply("ACK"), { ok: true, ack: null });
  assert.deepEqual(parseReply("ACK seq=2 client=5 total=9\n"), {
    ok: true,
    ack: { seq: 2, client: 5, total: 9, duplicate: false },
  });
  assert.deepEqual(parseReply("ERR likes above max"), { ok: false, reason: "likes above max" });
  assert.throws(() => parseReply("HELLO"), ProtocolError);
});

Deno.test("property: formatClassic() and parseRequest() round-trip", () => {
  fc.assert(
    fc.property(fc.nat({ max: 999_999_999 }), fc.nat({ max: 42 }), (id, likes) => {
      assert.deepEqual(parseRequest(formatClassic(id, likes)), {
        kind: "classic",
        client: `LikesServer${id}`,
        likes,
      });
    }),
  );
});

Deno.test("property: formatKeyed() and parseRequest() round-trip", () => {
  const clientId = fc.stringMatching(/^[A-Za-z0-9._:@-]{1,64}$/);
  fc.assert(
    fc.property(
      clientId,
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: 42 }),
      (client, seq, likes) => {
        assert.deepEqual(parseRequest(formatKeyed(client, seq, likes)), {
          kind: "keyed",
          client,
          seq,
          likes,
        });
      },
    ),
  );
});

Deno.test("property: formatKeyedAck() and parseReply() round-trip", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      (seq, client, total, duplicate) => {
        const ack = { seq, client, total, duplicate };
        assert.deepEqual(parseReply(formatKeyedAck(ack)), { ok: true, ack });
      },
    ),
  );
});

Deno.test("property: parseRequest() either returns a request or throws ProtocolError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) => {
      try {
        const request = parseRequest(text);
        assert.ok(["classic", "keyed", "stats"].includes(request.kind));
        if (request.kind !== "stats") assert.ok(request.likes >= 0 && request.likes <= 42);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, String(error));
      }
    }),
    { numRuns: 2000 },
  );
});
