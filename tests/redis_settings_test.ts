/**
 * The server over a Redis that asks for a password or speaks TLS, and one whose settings would
 * lose or double-count likes, as real processes: Debian's redis-server with `requirepass`, an ACL
 * user, a TLS port (certificates made by `openssl` for the test), `maxmemory-policy allkeys-lru`,
 * and no persistence. Skipped, with the reason printed, where redis-server is missing.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import {
  redisCli,
  redisMissing,
  startRedis,
  startRedisSentinelGroup,
} from "../src/launch/redis_process.ts";
import { requestOnce } from "../src/protocol/line_client.ts";
import { COUNT_OF_CLIENT } from "./_redis_count.ts";
import { nameIfSkipped, tempDir } from "./_helpers.ts";

const missing = redisMissing();
const REDIS_GRANT = "--allow-env=REDIS_DEBUG_MAINTENANCE";

/** Starts the server over `store`; resolves to its stdout+stderr once it exits or listens. */
async function startOver(
  dir: string,
  store: string,
  more: { grants?: string[]; args?: string[]; env?: Record<string, string> } = {},
) {
  return await startServer({
    logDir: dir,
    workers: 2,
    grants: more.grants ?? [REDIS_GRANT],
    args: [`--store=${store}`, ...(more.args ?? [])],
    ...(more.env ? { env: more.env } : {}),
    readyTimeoutMs: 20_000,
  });
}

/** Everything the server said from its start to its stop, after one like was acknowledged. */
async function saidWhileUp(dir: string, store: string, args: string[] = []): Promise<string> {
  const server = await startOver(dir, store, { args });
  try {
    assert.match(await requestOnce({ port: server.port }, "LikesServer1 1"), /^ACK/);
  } finally {
    await server.stop();
  }
  return server.output().stderr + server.output().stdout;
}

/** The server's start-up failure (it must exit before listening). */
async function startFailure(
  dir: string,
  store: string,
  more: Parameters<typeof startOver>[2] = {},
): Promise<string> {
  try {
    await using server = await startOver(dir, store, more);
    return `started, on port ${server.port}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

Deno.test({
  name: nameIfSkipped(
    "--store with a password (in the URL, from $VAR, from a file) and an ACL user counts likes; a wrong or unreadable one is one clear line",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    await using redis = await startRedis({
      appendfsync: "always",
      args: ["--requirepass", "s3cret", "--user", "likes", "on", ">p@ss:word", "~likes:*", "+@all"],
    });
    const at = `127.0.0.1:${redis.port}`;
    const passwordFile = `${dir.path}/redis-password`;
    await Deno.writeTextFile(passwordFile, "s3cret\n");
    const ways: [string, Parameters<typeof startOver>[2]][] = [
      [`redis://:s3cret@${at}`, {}],
      [`redis://likes:${encodeURIComponent("p@ss:word")}@${at}`, {}],
      [`redis://${at}?password-env=LIKES_TEST_REDIS_PASSWORD`, {
        grants: [`${REDIS_GRANT},LIKES_TEST_REDIS_PASSWORD`],
        env: { LIKES_TEST_REDIS_PASSWORD: "s3cret" },
      }],
      [`redis://${at}?password-file=${passwordFile}`, {
        grants: [REDIS_GRANT, `--allow-read=${passwordFile}`],
      }],
    ];
    for (const [i, [store, more]] of ways.entries()) {
      await using server = await startOver(dir.path, store, more);
      assert.match(
        await requestOnce({ port: server.port }, `LikesServer${i} 2`),
        /^ACK/,
        store,
      );
      assert.doesNotMatch(server.output().stderr + server.output().stdout, /s3cret|p@ss/, store);
    }
    const counts = await Promise.all(
      ways.map((_, i) =>
        redisCli(
          redis.port,
          "-a",
          "s3cret",
          "--no-auth-warning",
          "eval",
          COUNT_OF_CLIENT,
          "0",
          `LikesServer${i}`,
        )
      ),
    );
    assert.deepEqual(counts.map((c) => c.trim()), ["2", "2", "2", "2"]);

    const wrong = await startFailure(dir.path, `redis://:wrong@${at}`);
    assert.match(
      wrong,
      /server exited \(code 1\)[^]*error: .*(WRONGPASS|invalid username-password)/,
    );
    assert.doesNotMatch(wrong, /wrong@/, "the password is not printed");
    const ungranted = await startFailure(
      dir.path,
      `redis://${at}?password-env=LIKES_TEST_REDIS_PASSWORD`,
      { env: { LIKES_TEST_REDIS_PASSWORD: "s3cret" } },
    );
    assert.match(
      ungranted,
      /error: Cannot read the Redis password from \$LIKES_TEST_REDIS_PASSWORD: no permission; run deno with --allow-env=LIKES_TEST_REDIS_PASSWORD/,
    );
    const noFile = await startFailure(dir.path, `redis://${at}?password-file=${dir.path}/none`, {
      grants: [REDIS_GRANT, `--allow-read=${dir.path}`],
    });
    assert.match(noFile, /error: Cannot read the Redis password from \S+\/none: no such file/);
  },
});

Deno.test({
  name: nameIfSkipped(
    "--store redis-sentinel:// with a password: the master and replicas are asked with it, the Sentinels without",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    await using group = await startRedisSentinelGroup({ password: "s3cret" });
    const store = `redis-sentinel://:s3cret@${group.sentinelAddresses}/${group.master}?wait=1`;
    {
      await using server = await startOver(dir.path, store);
      assert.match(await requestOnce({ port: server.port }, "LikesServer5 4"), /^ACK/);
    }
    const count = await redisCli(
      group.replicas[0]!.port,
      ...["-a", "s3cret", "--no-auth-warning", "eval", COUNT_OF_CLIENT, "0", "LikesServer5"],
    );
    assert.equal(count.trim(), "4", "on a replica too (WAIT 1)");
    const wrong = await startFailure(
      dir.path,
      `redis-sentinel://:wrong@${group.sentinelAddresses}/${group.master}`,
    );
    assert.match(
      wrong,
      /server exited \(code 1\)[^]*error: .*(WRONGPASS|invalid username-password)/,
    );
  },
});

/** A CA and a certificate for 127.0.0.1 signed by it, made by openssl in `dir`. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=likes-test-ca",
  );
  await run("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  await Deno.writeTextFile(`${dir}/ext`, "subjectAltName=IP:127.0.0.1\n");
  await run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "ext",
  );
  return { ca: `${dir}/ca.crt`, cert: `${dir}/server.crt`, key: `${dir}/server.key` };
}

Deno.test({
  name: nameIfSkipped(
    "--store rediss:// counts likes over TLS with the CA of ca-file; a certificate it cannot verify stops the start",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    const { ca, cert, key } = await makeCertificates(dir.path);
    await using redis = await startRedis({
      appendfsync: "always",
      tls: { cert, key, ca },
    });
    const at = `127.0.0.1:${redis.port}`;
    {
      await using server = await startOver(dir.path, `rediss://${at}?ca-file=${ca}`, {
        grants: [REDIS_GRANT, `--allow-read=${ca}`],
      });
      assert.match(await requestOnce({ port: server.port }, "LikesServer7 3"), /^ACK/);
    }
    const count = await redisCli(
      redis.port,
      "--tls",
      "--cacert",
      ca,
      "eval",
      COUNT_OF_CLIENT,
      "0",
      "LikesServer7",
    );
    assert.equal(count.trim(), "3");
    const untrusted = await startFailure(dir.path, `rediss://${at}`);
    assert.match(untrusted, /error: .*self-signed certificate in certificate chain/);
    const plain = await startFailure(dir.path, `redis://${at}`);
    assert.match(plain, /error: /, "plain TCP to a TLS port does not start");
  },
});

Deno.test({
  name: nameIfSkipped(
    "a Redis that may evict keys is refused in one line; one that does not persist as --fsync asks is warned about",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using dir = await tempDir();
    {
      await using lru = await startRedis({
        appendfsync: "always",
        args: ["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"],
      });
      const refused = await startFailure(dir.path, `redis://127.0.0.1:${lru.port}`);
      assert.match(
        refused,
        /error: Redis at 127\.0\.0\.1:\d+ may evict keys \(maxmemory-policy allkeys-lru\): .*set maxmemory-policy noeviction/,
      );
      assert.equal(refused.match(/error:/g)?.length, 1, refused);
    }
    {
      await using volatile = await startRedis({
        appendfsync: "always",
        args: ["--maxmemory-policy", "volatile-lru"],
      });
      assert.doesNotMatch(
        await saidWhileUp(dir.path, `redis://127.0.0.1:${volatile.port}`),
        /evict|WARN/,
      );
    }
    await using memoryOnly = await startRedis(); // appendonly no, save ""
    const store = `redis://127.0.0.1:${memoryOnly.port}`;
    const warned = await saidWhileUp(dir.path, store);
    assert.match(
      warned,
      /Redis at 127\.0\.0\.1:\d+ keeps likes with appendonly no and no snapshots \(save ""\): a Redis restart loses every like, though --fsync always asks that an ACK be on disk/,
    );
    assert.equal(warned.split("\n").filter((line) => /keeps likes with/.test(line)).length, 1);
    assert.doesNotMatch(await saidWhileUp(dir.path, store, ["--fsync=never"]), /keeps likes with/);
  },
});
