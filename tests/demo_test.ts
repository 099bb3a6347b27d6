/**
 * The README's "run it" command, shortened: `deno task demo` converges and stops the server.
 */

import assert from "node:assert/strict";
import { PROJECT } from "../src/launch/processes.ts";
import { readLines, tempDir } from "./_helpers.ts";

Deno.test("demo.ts runs a server and a parent, prints a converged table and stops cleanly", async () => {
  await using dir = await tempDir();
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      `--config=${PROJECT.config}`,
      "--allow-run=deno",
      `--allow-write=${dir.path}`,
      new URL("../demo.ts", import.meta.url).pathname,
      `--log-dir=${dir.path}`,
      "--children=3",
      "--stagger=0.1",
      "--duration=1.5",
      "--min-interval=0.05",
      "--max-interval=0.2",
    ],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.match(stdout, /^verdict: CONVERGED: all 3 LikesServers exited 0/m);
  assert.match(stderr, /demo: PrimaryLikesServer pid \d+ listening on 127\.0\.0\.1:\d+/);
  assert.match(stderr, /demo: server stopped \(exit 0\)/);
  const primary = await readLines(`${dir.path}/PrimaryLikesLog`);
  assert.match(primary.at(-1)!, / stopped: total \d+ likes from 3 client\(s\)/);
});
