import assert from "node:assert/strict";
import { DataDirError, RedisSettingsRefused } from "../store/open_store.ts";
import { explainStartError, serverLogFile } from "./run_server.ts";
import { parseServerConfig, type ServerConfig } from "./server_config.ts";

const config = parseServerConfig(
  ["--port", "4999", "--log-dir", "/var/log/likes"],
  2,
) as ServerConfig;
const logFile = serverLogFile(config.logDir);

Deno.test("serverLogFile() puts PrimaryLikesLog in the log directory", () => {
  assert.equal(logFile, "/var/log/likes/PrimaryLikesLog");
  assert.equal(serverLogFile("/"), "/PrimaryLikesLog");
  assert.equal(serverLogFile("/tmp/"), "/tmp/PrimaryLikesLog");
});

Deno.test("explainStartError() says in one line what to do about each start-up failure", () => {
  const explain = (error: unknown) => explainStartError(error, config, logFile);
  assert.equal(
    explain(new Deno.errors.AddrInUse("in use")),
    "Cannot listen on 127.0.0.1:4999: the address is already in use (another server running?)",
  );
  assert.equal(
    explain(new Deno.errors.NotCapable('Requires net access to "127.0.0.1:4999"')),
    "Cannot listen on 127.0.0.1:4999: no permission; run deno with --allow-net=127.0.0.1:4999",
  );
  assert.equal(
    explain(
      new Deno.errors.NotCapable('Requires write access to "/var/log/likes/PrimaryLikesLog"'),
    ),
    "Cannot write /var/log/likes/PrimaryLikesLog: no permission; run deno with --allow-write=/var/log/likes/PrimaryLikesLog (the directory /var/log/likes must exist)",
  );
  assert.equal(
    explain(new Deno.errors.NotFound("no such file")),
    "Cannot write /var/log/likes/PrimaryLikesLog: the directory /var/log/likes does not exist",
  );
  // The store's own start-up errors say what to do already: passed on as they are.
  assert.equal(
    explain(new DataDirError("Cannot use data directory data: held")),
    "Cannot use data directory data: held",
  );
  assert.equal(explain(new RedisSettingsRefused("Redis may evict keys")), "Redis may evict keys");
  assert.equal(explain(new Error("boom")), "Cannot start the server: boom");
});
