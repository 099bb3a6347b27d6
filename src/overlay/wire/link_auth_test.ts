import assert from "node:assert/strict";
import {
  AuthError,
  checkProof,
  ClusterSecret,
  FrameTagger,
  handshakeProof,
  newNonce,
  TAG_BYTES,
} from "./link_auth.ts";

const secret = ClusterSecret.fromText("a-secret-of-at-least-thirty-two-characters");
const other = ClusterSecret.fromText("another-secret-of-at-least-thirty-two-chars");
const json = (text: string) => new TextEncoder().encode(text);

Deno.test("a secret is at least 32 characters; a generated one is 43 base64url characters", () => {
  assert.throws(
    () => ClusterSecret.fromText("  short \n"),
    /at least 32 characters: this one has 5/,
  );
  const text = ClusterSecret.generateText();
  assert.match(text, /^[A-Za-z0-9_-]{43}\n$/);
  assert.notEqual(text, ClusterSecret.generateText());
  assert.equal(ClusterSecret.fromText(text).toText(), text.trim());
});

Deno.test("a proof holds for its role, nonces and secret only", () => {
  const [ns, nc] = [newNonce(), newNonce()];
  const proof = handshakeProof(secret, "client", ns, nc);
  assert.equal(checkProof(secret, "client", ns, nc, proof), true);
  assert.equal(
    checkProof(secret, "server", ns, nc, proof),
    false,
    "a client proof is not a server's",
  );
  assert.equal(checkProof(secret, "client", nc, ns, proof), false, "nonces swapped");
  assert.equal(checkProof(secret, "client", ns, newNonce(), proof), false, "another connection");
  assert.equal(checkProof(other, "client", ns, nc, proof), false, "another secret");
  assert.equal(checkProof(secret, "client", ns, nc, 42), false);
});

Deno.test("a tagged frame opens once, in order, on its own connection and direction only", () => {
  const [ns, nc] = [newNonce(), newNonce()];
  const send = new FrameTagger(secret, "c2s", ns, nc);
  const frames = ['{"a":1}', '{"b":2}', '{"c":3}'].map((t) => send.seal(json(t)));
  assert.equal(frames[0]!.length, TAG_BYTES + 7);

  const receive = () => new FrameTagger(secret, "c2s", ns, nc);
  const inOrder = receive();
  assert.deepEqual(frames.map((f) => new TextDecoder().decode(inOrder.open(f))), [
    '{"a":1}',
    '{"b":2}',
    '{"c":3}',
  ]);
  const wrong = /authentication tag is wrong/;
  assert.throws(() => receive().open(frames[1]!), wrong, "reordered (or one dropped)");
  const replay = receive();
  replay.open(frames[0]!);
  assert.throws(() => replay.open(frames[0]!), wrong, "replayed");
  const changed = frames[0]!.slice();
  changed[TAG_BYTES + 5] = 0x32; // {"a":2}
  assert.throws(() => receive().open(changed), wrong, "changed");
  assert.throws(() => new FrameTagger(secret, "s2c", ns, nc).open(frames[0]!), wrong, "direction");
  assert.throws(() => new FrameTagger(secret, "c2s", ns, newNonce()).open(frames[0]!), wrong);
  assert.throws(() => new FrameTagger(other, "c2s", ns, nc).open(frames[0]!), wrong, "secret");
  assert.throws(() => receive().open(json("{}")), AuthError, "no tag at all");
});
