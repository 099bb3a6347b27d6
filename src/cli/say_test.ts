import assert from "node:assert/strict";
import { ERASE_LINE } from "../base/terminal_line.ts";
import { say } from "./say.ts";

function output(terminal: boolean | undefined) {
  const written: string[] = [];
  return {
    written,
    writeSync(bytes: Uint8Array) {
      // Takes a few bytes at a time, as a busy terminal may.
      const taken = Math.min(bytes.length, 5);
      written.push(new TextDecoder().decode(bytes.subarray(0, taken)));
      return taken;
    },
    ...(terminal === undefined ? {} : { isTerminal: () => terminal }),
  };
}

Deno.test("say() on a terminal first erases a progress line drawn there; elsewhere it writes the plain line", () => {
  const terminal = output(true);
  say("chaos 0.8 s: kill -9 server", terminal);
  assert.equal(terminal.written.join(""), `${ERASE_LINE}chaos 0.8 s: kill -9 server\n`);
  for (const plain of [output(false), output(undefined)]) {
    say("listening on 127.0.0.1:4242", plain);
    assert.equal(plain.written.join(""), "listening on 127.0.0.1:4242\n", "all of it, no escapes");
  }
});
