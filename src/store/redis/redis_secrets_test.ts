import assert from "node:assert/strict";
import { readRedisPassword, RedisSecretError } from "./redis_secrets.ts";

Deno.test("readRedisPassword() takes a given one, reads a file (dropping one newline), and says what is missing", async () => {
  assert.equal(await readRedisPassword("given"), "given");
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-secret-" });
  try {
    await Deno.writeTextFile(`${dir}/pw`, "s3 cret\n");
    assert.equal(await readRedisPassword({ file: `${dir}/pw` }), "s3 cret");
    await assert.rejects(
      readRedisPassword({ file: `${dir}/none` }),
      (e) => e instanceof RedisSecretError && /from \S+\/none: no such file$/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // The test runs without --allow-env for this name (it grants REDIS_DEBUG_MAINTENANCE only).
  await assert.rejects(
    readRedisPassword({ env: "LIKES_UNGRANTED_PASSWORD" }),
    (e) =>
      e instanceof RedisSecretError &&
      e.message ===
        "Cannot read the Redis password from $LIKES_UNGRANTED_PASSWORD: no permission; run deno with --allow-env=LIKES_UNGRANTED_PASSWORD",
  );
});
