import assert from "node:assert/strict";
import {
  type ByteConn,
  Connection,
  type ConnectionTimers,
  FIRST_READ_BYTES,
} from "./connection.ts";
import type { Responder } from "./respond.ts";

/**
 * An in-memory connection: the test pushes client bytes and reads what the server wrote. Like a
 * Linux socket, a reset still delivers the bytes that arrived before it, then fails the read.
 */
class MemoryConn implements ByteConn {
  written = "";
  closed = false;
  /** `ok`: writes succeed; `fail`: they throw BrokenPipe; `hang`: they never finish. */
  writes: "ok" | "fail" | "hang" = "ok";
  writeCalls = 0;
  /** The size of the buffer each read was given. */
  readonly readSizes: number[] = [];
  readonly #queue: Uint8Array[] = [];
  #end: "eof" | "reset" | null = null;
  #waiter: (() => void) | undefined;
  readonly #hanging: (() => void)[] = [];

  push(text: string): void {
    this.#queue.push(new TextEncoder().encode(text));
    this.#waiter?.();
  }

  end(): void {
    this.#end = "eof";
    this.#waiter?.();
  }

  reset(): void {
    this.#end = "reset";
    this.#waiter?.();
  }

  /** Lets hanging writes finish (as if the client read its replies). */
  release(): void {
    this.writes = "ok";
    this.#hanging.splice(0).forEach((resume) => resume());
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0 && this.#end === null && !this.closed) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    if (this.closed) throw new Deno.errors.BadResource("closed");
    this.readSizes.push(buffer.length);
    const chunk = this.#queue.shift();
    if (!chunk) {
      if (this.#end === "reset") throw new Deno.errors.ConnectionReset("reset by peer");
      return null;
    }
    // As a socket does: at most what the buffer holds, the rest on the next read.
    if (chunk.length > buffer.length) this.#queue.unshift(chunk.subarray(buffer.length));
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    return n;
  }

  async write(data: Uint8Array): Promise<number> {
    this.writeCalls++;
    if (this.writes === "hang") {
      await new Promise<void>((resume) => this.#hanging.push(resume));
      if (this.closed) throw new Deno.errors.BadResource("closed");
    }
    if (this.writes === "fail") throw new Deno.errors.BrokenPipe("broken pipe");
    this.written += new TextDecoder().decode(data);
    return data.length;
  }

  close(): void {
    this.closed = true;
    this.#waiter?.();
    this.#hanging.splice(0).forEach((resume) => resume());
  }
}

const echo: Responder = (frame) => ({
  text: `got ${new TextDecoder().decode(frame.bytes)}`,
  receipt: -1,
});

/**
 * Timers that fire only when the test steps time ({@linkcode FakeTimers.advance}): the pause rule
 * is tested without waiting for it.
 */
class FakeTimers implements ConnectionTimers {
  now = 0;
  readonly #due = new Map<number, { at: number; callback: () => void }>();
  #next = 1;

  setTimeout(callback: () => void, ms: number): number {
    this.#due.set(this.#next, { at: this.now + ms, callback });
    return this.#next++;
  }

  clearTimeout(id: unknown): void {
    if (typeof id === "number") this.#due.delete(id);
  }

  /** Moves time on by `ms`, running each timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    while (true) {
      const next = [...this.#due].filter(([, t]) =>
        t.at <= until
      ).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!next) break;
      this.#due.delete(next[0]);
      this.now = next[1].at;
      next[1].callback();
    }
    this.now = until;
  }
}

/**
 * Lets everything that is ready run, with no time passing: every read and write of
 * {@linkcode MemoryConn} is a promise that is ready at once, so a bounded number of microtask
 * turns (and one turn of the event loop, for the connection's own yield to other clients)
 * leaves the connection waiting for the client, a timer, or a promise the test holds.
 */
async function settle(): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 200; i++) await Promise.resolve();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
  }
}

Deno.test("Connection answers each frame in its own framing and flushes a partial one at EOF", async () => {
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", echo).serve();
  conn.push("a\nb\r\nc\0\0\0d");
  conn.end();
  await done;
  assert.equal(conn.written, "got a\ngot b\r\ngot c\0got d");
  assert.equal(conn.closed, true);
});

Deno.test("Connection reads with a small buffer while a client sends little, and the full one once a read fills it", async () => {
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", echo, { readBufferBytes: 4096 }).serve();
  conn.push("LikesServer1 5\n");
  await settle();
  assert.equal(conn.written, "got LikesServer1 5\n");
  // 100 pipelined messages (1,500 bytes) in one go: the small buffer fills, then it grows.
  const many = Array.from({ length: 100 }, (_, i) => `LikesServer1 ${10 + (i % 30)}\n`).join("");
  conn.push(many);
  await settle();
  conn.end();
  await done;
  assert.equal(
    conn.written.split("\n").filter((l) => l !== "").length,
    101,
    "every message answered",
  );
  assert.equal(conn.readSizes[0], FIRST_READ_BYTES, "an idle client costs the small buffer only");
  assert.equal(conn.readSizes[1], FIRST_READ_BYTES);
  assert.equal(conn.readSizes.at(-1), 4096, "a busy one gets the full buffer");
});

Deno.test("Connection answers an unterminated message after the pause, while the client waits", async () => {
  const conn = new MemoryConn();
  const timers = new FakeTimers();
  const connection = new Connection(conn, "mem", echo, { pauseMs: 20, timers });
  const done = connection.serve();
  conn.push("LikesServer1 2");
  await settle();
  timers.advance(19);
  await settle();
  assert.equal(conn.written, "", "not answered before the pause");
  timers.advance(1);
  await settle();
  assert.equal(conn.written, "got LikesServer1 2");
  conn.push("next\n");
  await settle();
  assert.equal(conn.written, "got LikesServer1 2got next\n");
  conn.end();
  await done;
});

Deno.test("Connection.finish() answers what was read, adds a last line and closes", async () => {
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", echo, { pauseMs: 10_000 });
  const done = connection.serve();
  conn.push("half");
  await settle();
  await connection.finish("ERR idle timeout");
  await done;
  assert.equal(conn.written, "got halfERR idle timeout\n");
  assert.equal(conn.closed, true);
});

Deno.test("Connection tracks the time of the last bytes received", async () => {
  let now = 100;
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", echo, { clock: () => now });
  const done = connection.serve();
  assert.equal(connection.lastActivity, 100);
  now = 250;
  conn.push("x\n");
  await settle();
  assert.equal(connection.lastActivity, 250);
  conn.end();
  await done;
});

Deno.test("Connection holds replies until the store settles their receipts, keeping their order", async () => {
  let durable = 0;
  const waiting: (() => void)[] = [];
  const store = {
    settled: (receipt: number) =>
      receipt < durable ? undefined : new Promise<void>((resolve) => waiting.push(resolve)),
  };
  let next = 0;
  const journaled: Responder = (frame) => {
    const text = new TextDecoder().decode(frame.bytes);
    return { text: `ok ${text}`, receipt: text.startsWith("q") ? -1 : next++ };
  };
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", journaled, { store }).serve();
  conn.push("a\nb\n");
  await settle();
  conn.push("q\n");
  await settle();
  assert.equal(
    conn.written,
    "",
    "nothing is sent before the records are durable, not even later replies",
  );
  durable = 2;
  waiting.splice(0).forEach((resolve) => resolve());
  await settle();
  assert.equal(conn.written, "ok a\nok b\nok q\n");
  conn.end();
  await done;
});

Deno.test("Connection sends no reply whose receipt will never settle (the journal failed), and closes", async () => {
  const store = {
    settled: () => Promise.reject(new Error("the journal failed")),
  };
  const journaled: Responder = () => ({ text: "ACK", receipt: 0 });
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", journaled, { store });
  conn.push("LikesServer1 2\n");
  await connection.serve(); // ends by itself: the connection closed
  assert.equal(conn.written, "", "no ACK for a like that is not durable");
  assert.equal(conn.closed, true);
});

/** A responder that records every frame it answered (what the server counts and logs). */
function recording(): { answered: string[]; respond: Responder } {
  const answered: string[] = [];
  return {
    answered,
    respond: (frame) => {
      const text = new TextDecoder().decode(frame.bytes);
      answered.push(text);
      return { text: `ok ${text}`, receipt: -1 };
    },
  };
}

Deno.test("Connection keeps reading and answering after a write fails: only the replies stop", async () => {
  const { answered, respond } = recording();
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", respond).serve();
  conn.push("a\n");
  await settle();
  conn.writes = "fail";
  conn.push("b\nc\n");
  await settle();
  conn.push("d\ne");
  conn.end();
  await done;
  assert.deepEqual(answered, ["a", "b", "c", "d", "e"], "every message that arrived is answered");
  assert.equal(conn.written, "ok a\n");
});

Deno.test("Connection answers the unterminated last message when the client resets the connection", async () => {
  const { answered, respond } = recording();
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", respond, { pauseMs: 10_000 }).serve();
  conn.push("LikesServer1 1\nLikesServer1 2\nLikesServer1 3");
  conn.reset();
  await done;
  assert.deepEqual(answered, ["LikesServer1 1", "LikesServer1 2", "LikesServer1 3"]);
  assert.equal(conn.closed, true);
});

Deno.test("Connection stops reading while its replies exceed the cap, and resumes when they drain", async () => {
  const { answered, respond } = recording();
  const conn = new MemoryConn();
  conn.writes = "hang";
  const cap = 64;
  const connection = new Connection(conn, "mem", respond, { maxPendingReplyBytes: cap });
  const done = connection.serve();
  const frames = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, "0")}`);
  conn.push(frames.map((f) => `${f}\n`).join("")); // one chunk of 200 frames; replies are 9 bytes
  await settle();
  assert.ok(answered.length < 200, `stopped reading: ${answered.length} of 200 answered`);
  assert.ok(connection.pendingReplyBytes <= cap + 9, `${connection.pendingReplyBytes} bytes held`);
  assert.equal(connection.writeStalledFor(1000), 0, "the first look sees a write in progress");
  assert.equal(connection.writeStalledFor(1700), 700, "and no progress 700 ms later");
  assert.equal(connection.idleSince, 0, "busy, not idle");
  assert.equal(connection.idleFor(5000), 0);
  conn.release();
  // A long chunk gives the event loop a turn every few parts (fairness to other clients): let
  // the loop turn until all is answered (a bounded number of turns; no time is waited for).
  for (let turn = 0; turn < 200 && answered.length < 200; turn++) {
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(answered.length, 200, "all answered once the client read");
  assert.equal(conn.written, frames.map((f) => `ok ${f}\n`).join(""));
  conn.end();
  await done;
});

Deno.test("Connection.finish() adds its last line once, however often it is called", async () => {
  const conn = new MemoryConn();
  conn.writes = "hang";
  const connection = new Connection(conn, "mem", echo);
  const done = connection.serve();
  const first = connection.finish("ERR idle timeout");
  const second = connection.finish("ERR idle timeout");
  assert.equal(connection.finishing, true);
  assert.equal(connection.pendingReplyBytes, "ERR idle timeout\n".length);
  conn.release();
  await Promise.all([first, second, done]);
  assert.equal(conn.written, "ERR idle timeout\n");
});

Deno.test("Connection.close() ends a connection whose client takes no replies", async () => {
  const { answered, respond } = recording();
  const conn = new MemoryConn();
  conn.writes = "hang";
  const connection = new Connection(conn, "mem", respond);
  const done = connection.serve();
  conn.push("a\nb\n");
  await settle();
  connection.close();
  await done;
  assert.deepEqual(answered, ["a", "b"]);
  assert.equal(connection.pendingReplyBytes, 0, "nothing held after the close");
});

Deno.test("Connection.idleFor() counts idle time only from the second look at the same idle stamp", async () => {
  let now = 100;
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", echo, { clock: () => now });
  const done = connection.serve();
  assert.equal(connection.idleFor(200), 0, "the first look only notes it");
  assert.equal(connection.idleFor(400), 300, "the second look sees it idle since 100");
  now = 450;
  conn.push("x\n"); // activity between two looks
  await settle();
  assert.equal(connection.idleFor(500), 0, "a new stamp: look again");
  assert.equal(connection.idleFor(900), 450);
  conn.end();
  await done;
});

Deno.test("Connection writes replies from a store across the network in message order", async () => {
  // Replies that arrive late (a remote store) and in a scrambled order, mixed with replies given
  // at once (STATS, ERR): the client still gets them in the order it sent the messages.
  const late = new Map<string, () => void>();
  const remote: Responder = (frame) => {
    const name = new TextDecoder().decode(frame.bytes);
    const text = `ok ${name}`;
    if (name === "b" || name === "d") return { text, receipt: -1 };
    return new Promise((resolve) => late.set(name, () => resolve({ text, receipt: -1 })));
  };
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", remote).serve();
  conn.push("a\nb\nc\nd\ne\n");
  await settle();
  assert.equal(conn.written, "", "b waits for a, which the store has not answered");
  for (const name of ["e", "c"]) late.get(name)!();
  await settle();
  assert.equal(conn.written, "", "c and e are answered, but a is not yet");
  late.get("a")!();
  await settle();
  assert.equal(conn.written, "ok a\nok b\nok c\nok d\nok e\n");
  conn.end();
  await done;
});

Deno.test("Connection tells its ack timer about every message answered, once its reply was written", async () => {
  let now = 100;
  const told: [number, number][] = [];
  const timer = {
    now: () => now,
    replied: (at: number, messages: number) => told.push([at, messages]),
  };
  // The first batch is answered at once; the second one waits for a store across the network.
  let late = false;
  const respond: Responder = (frame) => {
    const text = `ok ${new TextDecoder().decode(frame.bytes)}`;
    return late ? Promise.resolve({ text, receipt: -1 }) : { text, receipt: -1 };
  };
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", respond, { ackTimer: timer }).serve();
  conn.push("a\nb\nc\n");
  await settle();
  assert.deepEqual(told, [[100, 3]], "three messages read at 100, one write");
  now = 200;
  late = true;
  conn.push("d\ne\n");
  await settle();
  assert.deepEqual(told.slice(1), [[200, 1], [200, 1]], "late replies are timed one by one");
  conn.end();
  await done;
  assert.equal(conn.written, "ok a\nok b\nok c\nok d\nok e\n");
});
