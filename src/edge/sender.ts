/**
 * How a LikesServer puts one message on the wire and what came of it. Keyed messages go to our
 * own servers (over one persistent connection by default); classic messages go to any server
 * written for the exercise, read the way classic clients read (see `classic_sender.ts`).
 *
 * @module
 */

import { ClassicSender } from "./classic_sender.ts";
import type { Sender, SenderOptions } from "./exchange.ts";
import { KeyedSender } from "./keyed_sender.ts";

/** The sender for `options.protocol`; nothing connects before the first exchange. */
export function createSender(options: SenderOptions): Sender {
  return options.protocol === "keyed" ? new KeyedSender(options) : new ClassicSender(options);
}
