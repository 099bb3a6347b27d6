import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { DEFAULT_PORT, parseServerConfig, parseStore, serverUsage } from "./server_config.ts";

Deno.test("parseServerConfig() gives the seed defaults", () => {
  assert.deepEqual(parseServerConfig([], 2), {
    host: "127.0.0.1",
    port: DEFAULT_PORT,
    workers: 1, // one fewer than the 2 CPUs: the main thread writes the journal
    logDir: "/tmp",
    maxLikes: 42,
    maxLineBytes: 512,
    idleTimeoutMs: 30_000,
    writeTimeoutMs: 5000,
    replyBufferBytes: 65536,
    maxConnections: 10_000,
    pauseMs: 50,
    maxClients: 16384,
    clientTtlMs: 604_800_000,
    repair: false,
    dataDir: "data",
    fsync: "always",
    fsyncIntervalMs: 1000,
    snapshotEvery: 100_000,
    redis: null,
  });
});

Deno.test("parseServerConfig(): the default Workers are one fewer than the CPUs, at least 1", () => {
  const workers = (cpus: number) => (parseServerConfig([], cpus) as { workers: number }).workers;
  assert.deepEqual([1, 2, 8].map(workers), [1, 1, 7]);
  assert.match(
    serverUsage(8),
    /--workers K .* at least 1, as the main thread writes the journal \(default 7\)/,
  );
});

Deno.test("parseServerConfig() reads every flag", () => {
  const config = parseServerConfig([
    "--host=0.0.0.0",
    "--port=0",
    "--workers=3",
    "--log-dir=/var/tmp",
    "--max-likes=100",
    "--max-line-bytes=128",
    "--idle-timeout=0.5",
    "--write-timeout=1.5",
    "--reply-buffer-bytes=4096",
    "--max-connections=20",
    "--pause=0.01",
    "--max-clients=64",
    "--client-ttl=0.5",
    "--repair",
    "--data-dir=/var/lib/likes",
    "--fsync=interval",
    "--fsync-interval=0.25",
    "--snapshot-every=10",
    "--store=redis://10.0.0.5:6380",
  ], 8);
  assert.deepEqual(config, {
    host: "0.0.0.0",
    port: 0,
    workers: 3,
    logDir: "/var/tmp",
    maxLikes: 100,
    maxLineBytes: 128,
    idleTimeoutMs: 500,
    writeTimeoutMs: 1500,
    replyBufferBytes: 4096,
    maxConnections: 20,
    pauseMs: 10,
    maxClients: 64,
    clientTtlMs: 500,
    repair: true,
    dataDir: "/var/lib/likes",
    fsync: "interval",
    fsyncIntervalMs: 250,
    snapshotEvery: 10,
    redis: { hostname: "10.0.0.5", port: 6380, cluster: false },
  });
});

Deno.test("parseServerConfig(): --fsync batch is the former name of always", () => {
  const config = parseServerConfig(["--fsync", "batch"], 2);
  assert.equal(config !== "help" && config.fsync, "always");
});

Deno.test("parseServerConfig() rejects bad values with the flag's name", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--port=70000"], /--port must be a whole number from 0 to 65535/],
    [["--workers=0"], /--workers/],
    [["--idle-timeout=soon"], /--idle-timeout/],
    [["--host=a b"], /--host/],
    [["--fsync=sometimes"], /--fsync must be always or interval or never/],
    [
      ["--store=redis://nohost"],
      /--store must be embedded, redis\[s\]:\/\/\[USER:PASSWORD@\]HOST:PORT, redis-cluster.*"nohost" is not HOST:PORT/,
    ],
    [["--snapshot-every=0"], /--snapshot-every/],
    [["--write-timeout=0"], /--write-timeout must be a number of seconds from 0.05/],
    [["--log-dir=/tmp/a,/etc"], /--log-dir must be a path without commas/],
    [["--data-dir=data,/etc"], /--data-dir must be a path without commas/],
    [["--max-connections=0"], /--max-connections must be a whole number from 1/],
    [["--reply-buffer-bytes=8"], /--reply-buffer-bytes must be a whole number from 64/],
    [["--verbose"], /Unknown option '--verbose'/],
    [["9000"], /Unexpected argument/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseServerConfig(args, 2),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

Deno.test("parseServerConfig() answers --help, and the usage names every flag", () => {
  assert.equal(parseServerConfig(["--help"], 2), "help");
  const usage = serverUsage(2);
  for (
    const flag of [
      "--host",
      "--port",
      "--workers",
      "--log-dir",
      "--max-likes",
      "--idle-timeout",
      "--help",
    ]
  ) {
    assert.ok(usage.includes(flag), flag);
  }
});

Deno.test("serverUsage() says each default once per line", () => {
  for (const line of serverUsage(4).split("\n")) {
    assert.ok((line.match(/\(default/g) ?? []).length <= 1, line);
  }
  assert.match(serverUsage(4), /--workers K .*writes the journal \(default 3\)/);
});

Deno.test("parseStore() reads one Redis, a cluster, Sentinels with their master, and WAIT", () => {
  assert.equal(parseStore("embedded"), null);
  assert.deepEqual(parseStore("redis-cluster://10.0.0.5:7000"), {
    hostname: "10.0.0.5",
    port: 7000,
    cluster: true,
  });
  assert.deepEqual(parseStore("redis-sentinel://10.0.0.1:26379,10.0.0.2:26380/likes?wait=1"), {
    hostname: "10.0.0.1",
    port: 26379,
    cluster: false,
    sentinel: {
      master: "likes",
      nodes: [{ hostname: "10.0.0.1", port: 26379 }, { hostname: "10.0.0.2", port: 26380 }],
    },
    wait: { replicas: 1, timeoutMs: 1000 },
  });
  assert.deepEqual(parseStore("redis://h:6379?wait=2&wait-timeout=0.25")?.wait, {
    replicas: 2,
    timeoutMs: 250,
  });
  assert.deepEqual(parseStore("redis://bob:p%40ss%3Aw@h:6379"), {
    hostname: "h",
    port: 6379,
    cluster: false,
    username: "bob",
    password: "p@ss:w",
  });
  assert.deepEqual(parseStore("redis://:a:b@h:1")?.password, "a:b");
  assert.deepEqual(parseStore("redis://h:1?password-env=LIKES_PW")?.password, { env: "LIKES_PW" });
  assert.deepEqual(parseStore("redis-sentinel://s:2/m?password-file=/run/pw")?.password, {
    file: "/run/pw",
  });
  assert.deepEqual(parseStore("rediss://h:6380?ca-file=/etc/ca.pem")?.tls, {
    caFile: "/etc/ca.pem",
  });
  assert.deepEqual(parseStore("rediss://h:6380")?.tls, {});
  assert.equal(parseStore("redis://h:6380")?.tls, undefined);
  assert.throws(
    () => parseStore("redis://bob:hunter2@h:1?wait=0"),
    (e) => e instanceof UsageError && !e.message.includes("hunter2"),
    "a usage error does not print the password",
  );
  for (
    const [text, why] of [
      ["redis-sentinel://h:26379", /names no master/],
      ["redis://a:1,b:2", /only redis-sentinel:\/\/ takes several hosts/],
      ["redis-cluster://h:7000?wait=1", /wait is not for a cluster/],
      ["redis://h:6379?wait-timeout=1", /wait-timeout without wait/],
      ["redis://h:6379?fsync=1", /unknown option fsync/],
      ["redis-sentinel://h:x/likes", /"h:x" is not HOST:PORT/],
      ["redis://h:6379?ca-file=/ca.pem", /ca-file is for rediss:\/\//],
      ["redis://:pw@h:6379?password-env=P", /give the password once/],
      ["redis://h:6379?password-env=P&password-file=/f", /give the password once/],
      ["redis://bob@h:6379", /user bob has no password/],
      ["redis://:%E0%A4%A@h:6379", /not percent-encoded/],
      ["rediss-sentinel://h:1/m", /^--store must be/],
    ] as const
  ) {
    assert.throws(
      () => parseStore(text),
      (e) => e instanceof UsageError && why.test(e.message),
      text,
    );
  }
});
