/**
 * A free TCP port on 127.0.0.1 right now, for a server that must be told its port (another
 * process may still take it before that server binds it).
 *
 * @module
 */

/** A port that nothing listens on at this moment. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
