// Ids of responses and their items: a prefix as OpenAI's (resp_, msg_, fc_) and 128 random bits, so
// an id names one response and cannot be guessed (lookups are by tenant all the same).
import { randomBytes } from "node:crypto";

export function newItemId(prefix: "resp" | "msg" | "fc" | "fco"): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}
