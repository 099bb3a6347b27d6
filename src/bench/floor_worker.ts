/// <reference lib="deno.worker" />
/**
 * One Worker of the floor server (`floor_server.ts`): it listens (with `reusePort` when there are
 * several), and on every connection reads a chunk and writes one `ACK\n` per newline in it —
 * nothing else: no parse, no count, no journal, no log. It speaks the start-up protocol of
 * `threads/listening_workers.ts`, as the server's connection Workers do.
 *
 * @module
 */

const ACK = new TextEncoder().encode("ACK\n");
const NEWLINE = 10;
/** ACKs for up to this many messages in one chunk are written from one prepared buffer. */
const PREPARED = 4096;
const acks = new Uint8Array(ACK.length * PREPARED);
for (let i = 0; i < PREPARED; i++) acks.set(ACK, i * ACK.length);

let listener: Deno.Listener | undefined;
const open = new Set<Deno.Conn>();

async function serve(conn: Deno.Conn): Promise<void> {
  open.add(conn);
  // The read size of our server's connections (Connection's default), so that the two compare.
  const buffer = new Uint8Array(4096);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return;
      let messages = 0;
      for (let i = 0; i < n; i++) if (buffer[i] === NEWLINE) messages++;
      let left = messages;
      while (left > 0) {
        const now = Math.min(left, PREPARED);
        const reply = acks.subarray(0, now * ACK.length);
        for (let at = 0; at < reply.length;) at += await conn.write(reply.subarray(at));
        left -= now;
      }
    }
  } catch {
    // Reset by the client, or closed by stop().
  } finally {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

self.onmessage = async (event: MessageEvent) => {
  const message = event.data;
  if (message.kind === "start") {
    try {
      listener = Deno.listen({
        hostname: message.hostname,
        port: message.port,
        transport: "tcp",
        ...(message.reusePort ? { reusePort: true } : {}),
      });
    } catch (error) {
      const e = error as Error;
      self.postMessage({ kind: "failed", name: e.name, message: e.message });
      return;
    }
    self.postMessage({ kind: "listening", port: (listener.addr as Deno.NetAddr).port });
    try {
      for await (const conn of listener) {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // The client already left; serve() will notice.
        }
        serve(conn);
      }
    } catch {
      // The listener was closed: stopping.
    }
  } else if (message.kind === "stop") {
    try {
      listener?.close();
    } catch {
      // Closed already.
    }
    for (const conn of open) conn.close();
    self.postMessage({ kind: "stopped" });
  }
};
