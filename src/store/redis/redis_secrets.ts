/**
 * The Redis password and TLS trust anchors, read from where the configuration points (an
 * environment variable, a file) once, when a server starts, so that a missing grant or file is
 * one clear line, and the Workers get the values themselves.
 *
 * @module
 */

/** Where the password is: given, or read from an environment variable or a file at start. */
export type RedisPassword = string | { readonly env: string } | { readonly file: string };

/** TLS to Redis (`rediss://`): trust the system's CAs, or only those of a PEM given or read. */
export interface RedisTls {
  /** PEM text of the CA certificates to trust instead of the system's. */
  readonly ca?: string;
  /** A PEM file of the CA certificates to trust, read at start into `ca`. */
  readonly caFile?: string;
}

/** A password or CA that cannot be read: the message says which and what to grant. */
export class RedisSecretError extends Error {
  override name = "RedisSecretError";
}

/** Reads the password (a trailing newline of a file dropped). */
export async function readRedisPassword(password: RedisPassword): Promise<string> {
  if (typeof password === "string") return password;
  if ("env" in password) {
    let value: string | undefined;
    try {
      value = Deno.env.get(password.env);
    } catch (error) {
      throw new RedisSecretError(
        `Cannot read the Redis password from $${password.env}: no permission; run deno with --allow-env=${password.env}`,
        { cause: error },
      );
    }
    if (value === undefined || value === "") {
      throw new RedisSecretError(
        `Cannot read the Redis password: the environment variable ${password.env} is not set`,
      );
    }
    return value;
  }
  return (await readSecretFile("the Redis password", password.file)).replace(/\r?\n$/, "");
}

/** Reads a file a secret is kept in, with a message that says what is wrong. */
export async function readSecretFile(what: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable
      ? `no permission; run deno with --allow-read=${path}`
      : error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new RedisSecretError(`Cannot read ${what} from ${path}: ${why}`, { cause: error });
  }
}
