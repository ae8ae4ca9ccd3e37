// The session a message goes to: one per channel and conversation — a direct chat keyed by its peer,
// a group by its id, a thread apart from its group — so two chats never share a transcript.
// Session keys allow a-z, 0-9, ':', '_' and '-' (128 at most): a platform id outside that (upper case,
// other characters, too long) is replaced by a hash of itself.
import { createHash } from "node:crypto";
import type { InboundMessage } from "./kinds/kind.ts";

const PLAIN = /^[a-z0-9_-]{1,40}$/;

export function keyPart(id: string): string {
  return PLAIN.test(id) ? id : `h${createHash("sha256").update(id).digest("hex").slice(0, 32)}`;
}

export function sessionKeyOf(channelId: string, msg: Pick<InboundMessage, "peerId" | "chat">): string {
  const base = msg.chat.type === "dm" ? `channel:${channelId}:dm:${keyPart(msg.peerId)}` : `channel:${channelId}:g:${keyPart(msg.chat.id)}`;
  return msg.chat.threadId !== undefined && msg.chat.type !== "dm" ? `${base}:t:${keyPart(msg.chat.threadId)}` : base;
}
