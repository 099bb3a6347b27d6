import assert from "node:assert/strict";
import {
  type Flag,
  formatUsage,
  parseFlags,
  parseHost,
  parseInteger,
  parsePath,
  parseSeconds,
  UsageError,
} from "./flags.ts";

const flags: Flag[] = [
  { name: "port", type: "string", value: "PORT", default: "4242", help: "TCP port" },
  { name: "json", type: "boolean", help: "print JSON" },
];

Deno.test("parseFlags() fills defaults and reads values", () => {
  assert.deepEqual(parseFlags([], flags), {
    strings: { port: "4242" },
    booleans: {},
    positionals: [],
  });
  assert.deepEqual(parseFlags(["--port=1", "--json"], flags), {
    strings: { port: "1" },
    booleans: { json: true },
    positionals: [],
  });
  assert.deepEqual(parseFlags(["get", "--json", "a"], flags, { positionals: true }).positionals, [
    "get",
    "a",
  ]);
  assert.deepEqual(parseFlags(["--help"], flags).booleans, { help: true });
});

Deno.test("parseFlags() rejects unknown flags, positionals and missing values", () => {
  assert.throws(
    () => parseFlags(["--bogus"], flags),
    (e) => e instanceof UsageError && /bogus/.test(e.message),
  );
  assert.throws(() => parseFlags(["extra"], flags), UsageError);
  assert.throws(() => parseFlags(["--port"], flags), UsageError);
  assert.throws(() => parseFlags(["--json=yes"], flags), UsageError);
});

Deno.test("parseFlags() skips a leading -- (deno task passes it on), and only a leading one", () => {
  assert.deepEqual(parseFlags(["--", "--port", "3"], flags).strings, { port: "3" });
  assert.deepEqual(parseFlags(["--"], flags).strings, { port: "4242" });
  assert.throws(() => parseFlags(["--port=3", "--", "x"], flags), UsageError);
});

Deno.test("parsePath() refuses a comma, which would split a permission grant", () => {
  assert.equal(parsePath("log-dir", "/tmp/logs"), "/tmp/logs");
  assert.throws(
    () => parsePath("log-dir", "/tmp/a,/etc"),
    (e) => e instanceof UsageError && /--log-dir must be a path without commas/.test(e.message),
  );
  assert.throws(() => parsePath("data-dir", ""), UsageError);
});

Deno.test("formatUsage() lists every flag with its default", () => {
  const text = formatUsage("deno task x", "Does x.", flags);
  assert.match(text, /^Usage: deno task x \[flags\]/);
  assert.match(text, /--port PORT {2}TCP port \(default 4242\)/);
  assert.match(text, /--help +show this help/);
});

Deno.test("parseInteger() and parseSeconds() validate with clear messages", () => {
  assert.equal(parseInteger("workers", "2", { min: 1, max: 64 }), 2);
  assert.throws(
    () => parseInteger("workers", "0", { min: 1 }),
    /--workers must be a whole number from 1/,
  );
  assert.throws(() => parseInteger("workers", "1.5", { min: 1 }), /current value is "1.5"/);
  assert.throws(() => parseInteger("workers", "-1", { min: 1 }), UsageError);
  assert.equal(parseSeconds("stagger", "0.25", { min: 0 }), 250);
  assert.equal(parseSeconds("stagger", ".5", { min: 0 }), 500);
  assert.equal(parseSeconds("stagger", "3", { min: 0 }), 3000);
  assert.throws(
    () => parseSeconds("stagger", "-1", { min: 0 }),
    /--stagger must be a number of seconds/,
  );
  assert.throws(() => parseSeconds("stagger", "1e3", { min: 0 }), UsageError);
  assert.throws(() => parseSeconds("duration", "0", { min: 0.1 }), UsageError);
});

Deno.test("parseHost() accepts addresses and names only", () => {
  assert.equal(parseHost("host", "127.0.0.1"), "127.0.0.1");
  assert.equal(parseHost("host", "localhost"), "localhost");
  assert.throws(() => parseHost("host", "http://x"), UsageError);
  assert.throws(() => parseHost("host", "a:1"), UsageError);
});

Deno.test("parseFlags() takes a negative value after a space as the value, for the range check to explain", () => {
  assert.deepEqual(parseFlags(["--port", "-1"], flags).strings, { port: "-1" });
  assert.deepEqual(parseFlags(["--port=-1"], flags).strings, { port: "-1" });
  // A boolean flag followed by a negative number is not joined.
  assert.throws(() => parseFlags(["--json", "-1"], flags), UsageError);
});

Deno.test("exitWith() ends a process with its code once the event loop is idle, or after the grace", async () => {
  const cli = new URL("./flags.ts", import.meta.url).href;
  const run = async (code: string) => {
    const started = performance.now();
    const { code: exit } = await new Deno.Command("deno", {
      args: ["eval", `import { exitWith } from "${cli}"; ${code}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return { exit, ms: performance.now() - started };
  };
  const idle = await run("exitWith(3, 5000);");
  assert.equal(idle.exit, 3);
  assert.ok(idle.ms < 4000, `an idle loop ends at once, not after the grace: ${idle.ms} ms`);
  const held = await run("setInterval(() => {}, 1000); exitWith(4, 200);");
  assert.equal(held.exit, 4, "a loop held by a timer ends by Deno.exit() after the grace");
});

Deno.test("runCommand(): a StartError is one line and exit 1, a UsageError adds the usage hint and exit 2", async () => {
  const cli = new URL("./flags.ts", import.meta.url).href;
  const run = async (thrown: string) => {
    const output = await new Deno.Command("deno", {
      args: [
        "eval",
        `import { exitWith, runCommand, StartError, UsageError } from "${cli}";
         exitWith(await runCommand(async () => { throw ${thrown}; }));`,
      ],
      stdout: "null",
      env: { NO_COLOR: "1" },
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  assert.deepEqual(
    await run(`new StartError("node C could not start: port in use", "long\\nstderr")`),
    { code: 1, stderr: "error: node C could not start: port in use\n" },
  );
  assert.deepEqual(await run(`new UsageError("--port must be a number")`), {
    code: 2,
    stderr: "error: --port must be a number\nRun with --help for usage.\n",
  });
});
