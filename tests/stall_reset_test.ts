/**
 * A client that stalls the server and then resets: it sends classic messages back to back
 * without reading a reply (with a small receive buffer), until the server stops reading at its
 * reply cap and the kernel buffers fill, then closes with `SO_LINGER 0`. After the reset Linux
 * still delivers the bytes queued for the server, then the end of the stream; the server must
 * count every complete message its kernel received (TCP_INFO `tcpi_bytes_acked` on the client),
 * plus the unterminated last one when it is a whole message. The client is
 * `fixtures/stall_reset_client.py` (Debian's python3: Deno cannot set `SO_LINGER`).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startServer } from "../src/launch/processes.ts";
import { nameIfSkipped, stats, tempDir, until } from "./_helpers.ts";
import { toolMissing, toolPath } from "./_tools.ts";

const CLIENT = fileURLToPath(new URL("./fixtures/stall_reset_client.py", import.meta.url));
const PYTHON = toolPath("python3");

async function whyNot(): Promise<string | null> {
  if (PYTHON === null) return toolMissing("python3");
  try {
    const out = await new Deno.Command(PYTHON, { args: ["-c", "import socket"] }).output();
    return out.success ? null : `${PYTHON} cannot run`;
  } catch (error) {
    return `${PYTHON} is missing: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const reason = await whyNot();

const TERMINATORS = { lf: "\n", none: "" } as const;

/**
 * What the kernel received as messages: the complete ones, and the last one if it arrived whole
 * but for its terminator (the server counts it at the end of the stream).
 */
function messagesReceived(acked: number, message: string, terminator: string): number {
  const size = message.length + terminator.length;
  const rest = acked % size;
  return Math.floor(acked / size) + (rest >= message.length && rest > 0 ? 1 : 0);
}

Deno.test({
  name: nameIfSkipped(
    "a client that stalls the server and then resets loses nothing: every message its kernel received is counted",
    reason,
  ),
  ignore: reason !== null,
  async fn() {
    await using dir = await tempDir();
    await using server = await startServer({ logDir: dir.path, workers: 2 });
    for (const [run, framing] of (["lf", "none"] as const).entries()) {
      const client = `LikesServer${80 + run}`;
      const message = `${client} 1`;
      const out = await new Deno.Command(PYTHON!, {
        args: [CLIENT, String(server.port), message, framing],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const { acked, sent } = JSON.parse(new TextDecoder().decode(out.stdout));
      const expected = messagesReceived(acked, message, TERMINATORS[framing]);
      assert.ok(expected > 10_000, `the client filled the buffers (${expected} messages)`);
      let counted = 0;
      let stableSince = Date.now();
      await until(`${client} is counted`, async () => {
        const now = (await stats(server.port)).clients[client] ?? 0;
        if (now !== counted) [counted, stableSince] = [now, Date.now()];
        return now >= expected || Date.now() - stableSince > 2000;
      }, 20_000);
      Deno.stdout.writeSync(
        new TextEncoder().encode(
          `  ${framing}: sent ${sent} bytes, the server's kernel received ${acked} (${expected} messages), counted ${counted}\n`,
        ),
      );
      assert.equal(counted, expected, `${framing}: every message the kernel received`);
    }
  },
});
