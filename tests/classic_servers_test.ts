/**
 * Our LikesServers against classic servers as they exist in the wild — small fake servers with
 * real sockets, one per behaviour, each counting what it received — driven by a real parent
 * process with `--protocol classic`: the parent converges against each (every like acknowledged,
 * none counted twice), and reports plainly that such a server has no STATS.
 */

import assert from "node:assert/strict";
import { likesServerArgs, parentArgs } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { closeQuietly, readLines, runDeno, tempDir, writeAll } from "./_helpers.ts";

/** How a fake classic server answers each message. */
type Behaviour =
  /** `ACK` without a newline, then it closes: one message per connection. */
  | "ack-and-close"
  /** A 64-byte buffer `Received likes count` padded with NULs; stays open. */
  | "fixed-buffer"
  /** `1`; stays open. */
  | "answers-1"
  /** Nothing at all; stays open until the client closes. */
  | "silent";

const encoder = new TextEncoder();

function replyOf(behaviour: Behaviour): Uint8Array | null {
  switch (behaviour) {
    case "ack-and-close":
      return encoder.encode("ACK");
    case "fixed-buffer": {
      const buffer = new Uint8Array(64);
      buffer.set(encoder.encode("Received likes count"));
      return buffer;
    }
    case "answers-1":
      return encoder.encode("1");
    case "silent":
      return null;
  }
}

/** A fake classic server: it counts `LikesServer<N> <likes>` per name, as a C server would. */
class FakeClassicServer implements AsyncDisposable {
  readonly counts = new Map<string, number>();
  messages = 0;
  readonly #listener: Deno.Listener;
  readonly #behaviour: Behaviour;
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;
  readonly #serving = new Set<Promise<void>>();

  constructor(behaviour: Behaviour) {
    this.#behaviour = behaviour;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        this.#conns.add(conn);
        const serving = this.#serve(conn).finally(() => {
          this.#conns.delete(conn);
          this.#serving.delete(serving);
        });
        this.#serving.add(serving);
      }
    } catch {
      // The listener was closed.
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(4096);
    let pending = "";
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        pending += new TextDecoder().decode(buffer.subarray(0, n));
        let end: number;
        while ((end = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, end).trim();
          pending = pending.slice(end + 1);
          const match = /^(LikesServer\d+) (\d+)$/.exec(line);
          if (match) {
            this.messages++;
            this.counts.set(match[1]!, (this.counts.get(match[1]!) ?? 0) + Number(match[2]));
          }
          const reply = replyOf(this.#behaviour);
          if (reply) await writeAll(conn, reply);
          if (this.#behaviour === "ack-and-close") return;
        }
      }
    } catch {
      // The client reset the connection.
    } finally {
      closeQuietly(conn);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await this.#accepting;
    await Promise.all([...this.#serving]);
  }
}

const RUN = [
  "--protocol=classic",
  "--children=3",
  "--stagger=0",
  "--duration=0.8",
  "--min-interval=0.05",
  "--max-interval=0.15",
  "--drain=3",
  "--reply-timeout=0.5",
  "--json",
];

async function runParentAgainst(
  server: FakeClassicServer,
  logDir: string,
  flags: string[],
): Promise<{ code: number; report: RunReport; stderr: string }> {
  const run = await runDeno(
    parentArgs({ port: server.port, logDir, args: [...RUN, ...flags] }),
    60_000,
  );
  return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr };
}

const CONVERGING: [Behaviour, string[]][] = [
  ["ack-and-close", []],
  ["ack-and-close", ["--connection=persistent"]],
  ["fixed-buffer", ["--ack=any", "--connection=persistent"]],
  ["answers-1", ["--ack=any", "--connection=persistent"]],
  ["answers-1", ["--ack=any"]],
  ["silent", ["--ack=none", "--reply-timeout=0.2"]],
];

Deno.test("parent.ts --protocol classic converges against every kind of classic server", async (t) => {
  for (const [behaviour, flags] of CONVERGING) {
    await t.step(`${behaviour} ${flags.join(" ")}`.trim(), async () => {
      await using dir = await tempDir();
      await using server = new FakeClassicServer(behaviour);
      const { code, report, stderr } = await runParentAgainst(server, dir.path, flags);
      assert.equal(code, 0, `${report.verdict}\n${stderr}`);
      assert.equal(report.converged, true);
      assert.match(
        report.verdict,
        /^CONVERGED: all 3 LikesServers exited 0 and generated = acknowledged \(\d+ likes\); counted: not available, the server has no STATS$/,
      );
      assert.equal(report.server.hasStats, false);
      for (const child of report.children) {
        assert.ok(child.generated > 0, `${child.name} generated likes`);
        assert.equal(child.acknowledged, child.generated);
        assert.equal(child.unanswered, 0);
        assert.equal(
          server.counts.get(child.name) ?? 0,
          child.generated,
          `${child.name}: the server received each like once, none twice`,
        );
      }
    });
  }
});

Deno.test("parent.ts against a server that answers something else: sent without an answer, never twice", async () => {
  await using dir = await tempDir();
  await using server = new FakeClassicServer("answers-1");
  const { code, report } = await runParentAgainst(server, dir.path, [
    "--connection=persistent",
  ]);
  assert.equal(code, 1);
  assert.equal(report.converged, false);
  assert.match(
    report.verdict,
    /^NOT CONVERGED: LikesServer0 exit 1, acknowledged 0 of \d+, \d+ likes sent without an answer/,
  );
  assert.match(report.verdict, /; counted: not available, the server has no STATS$/);
  for (const child of report.children) {
    assert.equal(child.acknowledged, 0);
    assert.equal(child.unanswered, child.generated, "nothing acknowledged, nothing lost track of");
    assert.equal(server.counts.get(child.name) ?? 0, child.generated, "and not sent twice");
  }
  const log = await readLines(`${dir.path}/LikesServer0`);
  assert.ok(
    log.some((l) =>
      /sent "LikesServer0 \d+" → "1" is not an acknowledgement \(--ack prefix\); \d+ likes counted as sent without an answer, not sent again/
        .test(l)
    ),
  );
});

Deno.test("likes_server.ts --retry ambiguous resends what got no answer, so a classic server counts it again", async () => {
  await using dir = await tempDir();
  await using server = new FakeClassicServer("answers-1");
  const run = await runDeno(
    likesServerArgs({
      port: server.port,
      logDir: dir.path,
      args: [
        "--protocol=classic",
        "--retry=ambiguous",
        "--duration=0.2",
        "--min-interval=0.05",
        "--max-interval=0.05",
        "--max-backoff=0.05",
        "--drain=0.5",
        "--quiet",
      ],
    }),
    30_000,
  );
  assert.equal(run.code, 1, "nothing was ever acknowledged");
  const log = await readLines(`${dir.path}/LikesServer0`);
  const first = /sent "(LikesServer0 \d+)" → "1" is not an acknowledgement/.exec(
    log.join("\n"),
  )![1]!;
  const resent = log.filter((l) => l.includes(`sent "${first}" → "1"`)).length;
  assert.ok(resent > 1, `the first message was sent ${resent} times`);
  assert.ok(server.messages > 1, "and the server received (and counted) every one of them");
});
