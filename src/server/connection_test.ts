import assert from "node:assert/strict";
import { type ByteConn, Connection } from "./connection.ts";
import type { Responder } from "./respond.ts";

/** An in-memory connection: the test pushes client bytes and reads what the server wrote. */
class MemoryConn implements ByteConn {
  written = "";
  closed = false;
  readonly #queue: Uint8Array[] = [];
  #eof = false;
  #waiter: (() => void) | undefined;

  push(text: string): void {
    this.#queue.push(new TextEncoder().encode(text));
    this.#waiter?.();
  }

  end(): void {
    this.#eof = true;
    this.#waiter?.();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#queue.length === 0 && !this.#eof && !this.closed) {
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    if (this.closed) throw new Deno.errors.BadResource("closed");
    const chunk = this.#queue.shift();
    if (!chunk) return null;
    buffer.set(chunk);
    return chunk.length;
  }

  write(data: Uint8Array): Promise<number> {
    this.written += new TextDecoder().decode(data);
    return Promise.resolve(data.length);
  }

  close(): void {
    this.closed = true;
    this.#waiter?.();
  }
}

const echo: Responder = (frame) => ({
  text: `got ${new TextDecoder().decode(frame.bytes)}`,
  durableAt: -1,
});
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Connection answers each frame in its own framing and flushes a partial one at EOF", async () => {
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", echo).serve();
  conn.push("a\nb\r\nc\0\0\0d");
  conn.end();
  await done;
  assert.equal(conn.written, "got a\ngot b\r\ngot c\0got d");
  assert.equal(conn.closed, true);
});

Deno.test("Connection answers an unterminated message after the pause, while the client waits", async () => {
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", echo, { pauseMs: 20 });
  const done = connection.serve();
  conn.push("LikesServer1 2");
  await tick(5);
  assert.equal(conn.written, "", "not answered before the pause");
  await tick(60);
  assert.equal(conn.written, "got LikesServer1 2");
  conn.push("next\n");
  await tick(5);
  assert.equal(conn.written, "got LikesServer1 2got next\n");
  conn.end();
  await done;
});

Deno.test("Connection.finish() answers what was read, adds a last line and closes", async () => {
  const conn = new MemoryConn();
  const connection = new Connection(conn, "mem", echo, { pauseMs: 10_000 });
  const done = connection.serve();
  conn.push("half");
  await tick(5);
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
  await tick(5);
  assert.equal(connection.lastActivity, 250);
  conn.end();
  await done;
});

Deno.test("Connection holds replies until their journal records are durable, keeping their order", async () => {
  let durable = 0;
  const waiting: (() => void)[] = [];
  const durability = {
    until: (index: number) =>
      index < durable ? undefined : new Promise<void>((resolve) => waiting.push(resolve)),
  };
  let next = 0;
  const journaled: Responder = (frame) => {
    const text = new TextDecoder().decode(frame.bytes);
    return { text: `ok ${text}`, durableAt: text.startsWith("q") ? -1 : next++ };
  };
  const conn = new MemoryConn();
  const done = new Connection(conn, "mem", journaled, { durability }).serve();
  conn.push("a\nb\n");
  await tick(5);
  conn.push("q\n");
  await tick(5);
  assert.equal(
    conn.written,
    "",
    "nothing is sent before the records are durable, not even later replies",
  );
  durable = 2;
  waiting.splice(0).forEach((resolve) => resolve());
  await tick(5);
  assert.equal(conn.written, "ok a\nok b\nok q\n");
  conn.end();
  await done;
});
